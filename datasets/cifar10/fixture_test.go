package cifar10

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// fixtureRecords is the records per file of the small fake distribution:
// enough for several batches, small enough to build in microseconds.
const fixtureRecords = 12

// fixtureFiles returns the six batch files of a fake distribution: record r
// of file f has label (r+f)%10 and pixel j = (j + 3r + 11f) % 256, so every
// record is distinct and checkable by formula.
func fixtureFiles() map[string][]byte {
	files := map[string][]byte{}
	for f, name := range allFiles() {
		data := make([]byte, fixtureRecords*RecordSize)
		for r := 0; r < fixtureRecords; r++ {
			rec := data[r*RecordSize : (r+1)*RecordSize]
			rec[0] = byte((r + f) % NumClasses)
			for j := range ImageSize {
				rec[1+j] = byte((j + 3*r + 11*f) % 256)
			}
		}
		files[name] = data
	}
	return files
}

// fixtureLayout is the layout the fake files pass: fixtureRecords records
// and the MD5s of the unmodified fixture files.
func fixtureLayout() layout {
	lay := layout{records: fixtureRecords, md5: map[string]string{}}
	for name, data := range fixtureFiles() {
		s := md5.Sum(data)
		lay.md5[name] = hex.EncodeToString(s[:])
	}
	return lay
}

// writeFolder writes files into dir/cifar-10-batches-bin and returns it.
func writeFolder(t *testing.T, dir string, files map[string][]byte) string {
	t.Helper()
	p := filepath.Join(dir, BatchesDir)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(p, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// archiveBytes packs files as the official archive does
// (cifar-10-batches-bin/NAME entries, plus batches.meta.txt).
func archiveBytes(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: BatchesDir + "/" + name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	add("batches.meta.txt", []byte("airplane\n"))
	for _, name := range allFiles() {
		if data, ok := files[name]; ok {
			add(name, data)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, p string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sharedArchive is the real CIFAR-10 copy every session and CI has, beside
// the repository root (see HELPERS.md / README).
const sharedArchive = "../../../shared/datasets/cifar10/cifar-10-binary.tar.gz"

var (
	realOnce sync.Once
	realData *Dataset
	realErr  error
)

// realDataset loads the shared archive once per test binary (a few
// seconds) and fails the test loudly if it is absent.
func realDataset(t *testing.T) *Dataset {
	t.Helper()
	if _, err := os.Stat(sharedArchive); err != nil {
		t.Fatalf("the shared CIFAR-10 archive is required at %s (relative to datasets/cifar10): %v", sharedArchive, err)
	}
	realOnce.Do(func() { realData, realErr = Load(sharedArchive) })
	if realErr != nil {
		t.Fatalf("Load(%s): %v", sharedArchive, realErr)
	}
	return realData
}

// synthSplit is n images of pseudo-random pixels with labels i%10.
func synthSplit(t testing.TB, n int) *Split {
	t.Helper()
	img := make([]byte, n*ImageSize)
	s := stream{state: 42}
	for i := range img {
		img[i] = byte(s.next())
	}
	lab := make([]uint8, n)
	for i := range lab {
		lab[i] = uint8(i % NumClasses)
	}
	sp, err := NewSplit("synth", img, lab)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}
