// Command repro reproduces the tables and figures of He et al., "Deep
// Residual Learning for Image Recognition" (CVPR 2016). This package only
// wires flags to the project's packages: one file per command, each command
// a function of (ctx, args, stdout, stderr) so tests can call it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/resnet-repro/resnet-repro/netbuild"
	"github.com/resnet-repro/resnet-repro/results"
	"github.com/urfave/cli/v2"
)

// init pins the main goroutine, which runs every training and benchmark
// step, to the process's main OS thread. libgomp (oneDNN's thread runtime)
// keeps one worker team per calling OS thread; unpinned, Go moves the
// goroutine between OS threads, each gets a team of its own, and the idle
// teams' spinning workers take the cores from the working one (seen with
// top -H: three busy threads on two cores, and resnet-20 training 10-20%
// slower and far noisier).
func init() { runtime.LockOSThread() }

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the command line args (args[0] is the program name) and
// returns the process exit status: 0 on success, 2 for bad input (flags,
// unknown names, malformed files), 1 for any other failure. Errors are
// printed as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(interspersed(app, args))
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Fprintf(stderr, "repro: %s\n", msg)
	var in *inputError
	// urfave/cli reports a missing required flag and (below the app level)
	// an unknown flag as plain errors.
	if errors.As(err, &in) || errors.Is(err, results.ErrNotDatabase) || strings.HasPrefix(err.Error(), "Required flag") || strings.HasPrefix(err.Error(), "flag provided but not defined") {
		return 2
	}
	return 1
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "repro",
		Usage:     "reproduce He et al. 2016, Deep Residual Learning for Image Recognition",
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are printed once, by run.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return &inputError{err}
		},
		Commands: []*cli.Command{
			archCommand(),
			initCommand(),
			forwardCommand(),
			benchCommand(),
			dataCommand(),
			specsCommand(),
			runCommand(),
			runsCommand(),
			queryCommand(),
			reportCommand(),
			submitCommand(),
			mergeCommand(),
			upgradeCommand(),
			evalCommand(),
		},
	}
	quietUsageErrors(app.Commands)
	return app
}

// quietUsageErrors makes every command report a flag error as one line
// (exit 2) instead of printing its help page.
func quietUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		if c.OnUsageError == nil {
			c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return &inputError{err} }
		}
		quietUsageErrors(c.Subcommands)
	}
}

// inputError marks an error caused by what the user gave us (a flag, a
// name, a file's contents); run exits with status 2 for it.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// badInput returns an inputError with a formatted message.
func badInput(format string, args ...any) error {
	return &inputError{fmt.Errorf(format, args...)}
}

// asInput marks err (if non-nil) as caused by the user's input.
func asInput(err error) error {
	if err == nil {
		return nil
	}
	return &inputError{err}
}

// asInputUnlessWrite marks err as caused by the user's input unless it is
// a failure to write an output file (netbuild.WriteError), which exits 1.
func asInputUnlessWrite(err error) error {
	var we *netbuild.WriteError
	if errors.As(err, &we) {
		return err
	}
	return asInput(err)
}
