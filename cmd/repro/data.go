package main

import (
	"fmt"
	"io"
	"os"

	"github.com/resnet-repro/resnet-repro/datasets/cifar10"
	"github.com/urfave/cli/v2"
)

// dataCommand groups the dataset commands: `repro data fetch DATASET` and
// `repro data verify DATASET`.
func dataCommand() *cli.Command {
	return &cli.Command{
		Name:  "data",
		Usage: "download, import and verify datasets in the data directory (--data, $REPRO_DATA, ./data)",
		Subcommands: []*cli.Command{
			{
				Name:        "fetch",
				Usage:       "download a dataset into the data directory, or import a local copy",
				Subcommands: []*cli.Command{dataFetchCIFAR10Command()},
				Action:      unknownDataset,
			},
			{
				Name:        "verify",
				Usage:       "check a dataset's files and print its counts and means",
				Subcommands: []*cli.Command{dataVerifyCIFAR10Command()},
				Action:      unknownDataset,
			},
		},
	}
}

// unknownDataset runs when `repro data fetch|verify` gets no dataset it
// knows.
func unknownDataset(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowSubcommandHelp(c)
	}
	names := ""
	for _, sub := range c.Command.Subcommands {
		if sub.Name != "help" {
			names += " " + sub.Name
		}
	}
	return badInput("data %s: unknown dataset %q (known:%s)", c.Command.Name, c.Args().First(), names)
}

func dataDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "data", Usage: "data directory holding cifar10/ (default $" + cifar10.DataDirEnv + ", else " + cifar10.DefaultDataDir + ")"}
}

func dataFetchCIFAR10Command() *cli.Command {
	return &cli.Command{
		Name:  "cifar10",
		Usage: "download " + cifar10.ArchiveName + " (resuming a partial download) or import one with --from",
		Flags: []cli.Flag{
			dataDirFlag(),
			&cli.StringFlag{Name: "from", Usage: "import this local copy of the archive instead of downloading"},
			&cli.StringFlag{Name: "url", Value: cifar10.OfficialURL, Usage: "where to download the archive from"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return badInput("data fetch cifar10: unexpected argument %q", c.Args().First())
			}
			out := c.App.Writer
			dataDir := cifar10.DataDir(c.String("data"))
			if from := c.String("from"); from != "" {
				res, err := cifar10.Import(from, dataDir)
				if err != nil {
					return asInput(err)
				}
				if res.Official {
					fmt.Fprintf(out, "imported %s to %s (archive md5 %s: the official archive)\n", from, res.Path, res.MD5)
				} else {
					fmt.Fprintf(out, "imported %s to %s: archive md5 %s differs from the official %s, "+
						"but its six batch files have the official MD5s (a re-packed copy of the same data); accepted\n",
						from, res.Path, res.MD5, cifar10.ArchiveMD5)
				}
				return nil
			}
			prog := cifar10.NewProgress(c.App.ErrWriter, isTerminal(c.App.ErrWriter))
			url := c.String("url")
			fmt.Fprintf(out, "downloading %s\n", url)
			res, err := cifar10.Fetch(c.Context, cifar10.FetchConfig{DataDir: dataDir, URL: url, Progress: prog.Update})
			prog.Finish()
			if err != nil {
				return err
			}
			switch {
			case res.Present:
				fmt.Fprintf(out, "already present: %s (check it with `repro data verify cifar10`)\n", res.Path)
			case res.ResumedAt > 0:
				fmt.Fprintf(out, "resumed at byte %d, received %d bytes; md5 %s ok; stored %s\n", res.ResumedAt, res.Downloaded, cifar10.ArchiveMD5, res.Path)
			default:
				fmt.Fprintf(out, "received %d bytes; md5 %s ok; stored %s\n", res.Downloaded, cifar10.ArchiveMD5, res.Path)
			}
			return nil
		},
	}
}

func dataVerifyCIFAR10Command() *cli.Command {
	return &cli.Command{
		Name:  "cifar10",
		Usage: "check every batch file (size, records, labels, official MD5s); print counts per split and class and channel means",
		Flags: []cli.Flag{
			dataDirFlag(),
			&cli.StringFlag{Name: "path", Usage: "the archive or extracted folder to check (default: the one in the data directory)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return badInput("data verify cifar10: unexpected argument %q", c.Args().First())
			}
			ds, err := loadCIFAR10(c)
			if err != nil {
				return err
			}
			out := c.App.Writer
			fmt.Fprintf(out, "%s: 6 batch files of %d records of %d bytes, labels 0..%d, official MD5s\n",
				ds.Source, cifar10.RecordsPerFile, cifar10.RecordSize, cifar10.NumClasses-1)
			return cifar10.WriteStats(out, cifar10.SplitStats(ds.Train), cifar10.SplitStats(ds.Test))
		},
	}
}

// loadCIFAR10 loads the dataset named by --path, else found in the data
// directory (--data, $REPRO_DATA, ./data).
func loadCIFAR10(c *cli.Context) (*cifar10.Dataset, error) {
	p := c.String("path")
	if p == "" {
		var err error
		if p, err = cifar10.Locate(cifar10.DataDir(c.String("data"))); err != nil {
			return nil, asInput(err)
		}
	}
	ds, err := cifar10.Load(p)
	return ds, asInput(err)
}

// isTerminal reports whether w is a terminal (for progress bars).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
