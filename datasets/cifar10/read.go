package cifar10

import (
	"archive/tar"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
)

// Dataset is the official training and test splits, checked against the
// official layout and checksums.
type Dataset struct {
	// Train holds data_batch_1.bin .. data_batch_5.bin in record order
	// (50,000 images); Test holds test_batch.bin (10,000 images).
	Train, Test *Split
	// Source is the archive or folder the data was read from.
	Source string
}

// TrainVal returns the 45k/5k train/val split of Sec. 4.2:
// Train.HoldOut(500), the last 500 training images of each class in record
// order held out for validation.
func (d *Dataset) TrainVal() (train, val *Split) {
	t, v, err := d.Train.HoldOut(TrainSize / 10 / NumClasses)
	if err != nil {
		panic("cifar10: a verified Dataset lacks 500 images of a class: " + err.Error())
	}
	return t, v
}

// Load reads CIFAR-10 from path, which may be the archive
// (cifar-10-binary.tar.gz, read in place), the extracted
// cifar-10-batches-bin/ folder, a folder holding either, or a data
// directory holding cifar10/ with either. Every batch file must be present,
// hold exactly 10,000 records of 3,073 bytes with labels 0..9, and have its
// official MD5. On any error nothing is returned; the error names the file
// and, where it applies, the record.
func Load(path string) (*Dataset, error) { return load(path, official) }

func load(p string, lay layout) (*Dataset, error) {
	src, isArchive, err := resolveSource(p)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{
		Train:  newSplit("train", len(trainFiles)*lay.records),
		Test:   newSplit("test", lay.records),
		Source: src,
	}
	if isArchive {
		err = readArchive(src, lay, ds)
	} else {
		err = readFolder(src, lay, ds)
	}
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// resolveSource turns a user's path into an archive file or a folder of
// .bin files.
func resolveSource(p string) (src string, isArchive bool, err error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", false, fmt.Errorf("cifar10: %w", err)
	}
	if !st.IsDir() {
		return p, true, nil
	}
	for _, name := range allFiles() {
		if fileExists(filepath.Join(p, name)) {
			return p, false, nil
		}
	}
	if dirExists(filepath.Join(p, BatchesDir)) {
		return filepath.Join(p, BatchesDir), false, nil
	}
	if fileExists(filepath.Join(p, ArchiveName)) {
		return filepath.Join(p, ArchiveName), true, nil
	}
	if dirExists(filepath.Join(p, "cifar10")) {
		loc, err := Locate(p)
		if err != nil {
			return "", false, err
		}
		return resolveSource(loc)
	}
	return "", false, fmt.Errorf("%s: no CIFAR-10 here (want %s, %s/, their .bin files, or cifar10/ holding one of these)", p, ArchiveName, BatchesDir)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// placeOf returns the split and the first record index a batch file fills.
func placeOf(ds *Dataset, name string, lay layout) (*Split, int, bool) {
	for i, f := range trainFiles {
		if f == name {
			return ds.Train, i * lay.records, true
		}
	}
	if name == testFile {
		return ds.Test, 0, true
	}
	return nil, 0, false
}

// sizeError describes a batch file whose size is not records*RecordSize.
func sizeError(name string, got int64, lay layout) error {
	want := int64(lay.records) * RecordSize
	detail := ""
	if got%RecordSize != 0 {
		detail = fmt.Sprintf(" (record %d is incomplete)", got/RecordSize)
	}
	if got < want {
		return fmt.Errorf("%s: truncated: %d bytes, want %d%s", name, got, want, detail)
	}
	return fmt.Errorf("%s: %d bytes, want %d (%d records of %d bytes)%s", name, got, want, lay.records, RecordSize, detail)
}

// checkAndPlace checks one whole batch file (labels, MD5) and copies its
// records into the dataset.
func checkAndPlace(ds *Dataset, name, display string, data []byte, lay layout) error {
	for r := 0; r < lay.records; r++ {
		if l := data[r*RecordSize]; l >= NumClasses {
			return fmt.Errorf("%s: record %d: label %d outside 0..%d", display, r, l, NumClasses-1)
		}
	}
	sum := md5.Sum(data)
	if got, want := hex.EncodeToString(sum[:]), lay.md5[name]; got != want {
		return fmt.Errorf("%s: md5 %s, want %s (not the official file)", display, got, want)
	}
	s, first, _ := placeOf(ds, name, lay)
	for r := 0; r < lay.records; r++ {
		rec := data[r*RecordSize : (r+1)*RecordSize]
		s.labels[first+r] = rec[0]
		copy(s.pixels[(first+r)*ImageSize:], rec[1:])
	}
	return nil
}

func readFolder(dir string, lay layout, ds *Dataset) error {
	want := int64(lay.records) * RecordSize
	buf := make([]byte, want)
	for _, name := range allFiles() {
		p := filepath.Join(dir, name)
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %s missing", dir, name)
		}
		if err != nil {
			return fmt.Errorf("cifar10: %w", err)
		}
		st, err := f.Stat()
		if err == nil && st.Size() != want {
			err = sizeError(p, st.Size(), lay)
		}
		if err == nil {
			if _, rerr := io.ReadFull(f, buf); rerr != nil {
				err = fmt.Errorf("%s: %w", p, rerr)
			}
		}
		f.Close()
		if err != nil {
			return err
		}
		if err := checkAndPlace(ds, name, p, buf, lay); err != nil {
			return err
		}
	}
	return nil
}

func readArchive(file string, lay layout, ds *Dataset) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("cifar10: %w", err)
	}
	defer f.Close()
	return readArchiveStream(f, file, lay, ds)
}

// readArchiveStream reads a gzip-compressed tar stream; file names the
// archive in errors. Entries other than the six batch files are ignored.
func readArchiveStream(r io.Reader, file string, lay layout, ds *Dataset) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%s: not a gzip archive: %w", file, err)
	}
	tr := tar.NewReader(zr)
	want := int64(lay.records) * RecordSize
	buf := make([]byte, want)
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %s", file, archiveErr(err))
		}
		name := path.Base(hdr.Name)
		if _, _, ok := placeOf(ds, name, lay); !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		display := file + ": " + name
		if seen[name] {
			return fmt.Errorf("%s: appears twice in the archive", display)
		}
		seen[name] = true
		if hdr.Size != want {
			return fmt.Errorf("%s: %w", file, sizeError(name, hdr.Size, lay))
		}
		if n, err := io.ReadFull(tr, buf); err != nil {
			return fmt.Errorf("%s: truncated: archive ends after %d of %d bytes (record %d is incomplete): %s",
				display, n, want, int64(n)/RecordSize, archiveErr(err))
		}
		if err := checkAndPlace(ds, name, display, buf, lay); err != nil {
			return err
		}
	}
	for _, name := range allFiles() {
		if !seen[name] {
			return fmt.Errorf("%s: %s missing from the archive", file, name)
		}
	}
	// Drain so that a corrupt gzip trailer (CRC, size) is reported too.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("%s: %s", file, archiveErr(err))
	}
	return nil
}

// archiveErr rewords the errors a damaged gzip/tar stream produces.
func archiveErr(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "archive truncated (unexpected end of data)"
	case errors.Is(err, gzip.ErrChecksum):
		return "archive corrupt (gzip checksum mismatch)"
	default:
		return "archive corrupt: " + err.Error()
	}
}
