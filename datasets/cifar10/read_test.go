package cifar10

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// checkFixture asserts ds holds exactly fixtureFiles' records in order.
func checkFixture(t *testing.T, ds *Dataset) {
	t.Helper()
	files := fixtureFiles()
	if ds.Train.Len() != 5*fixtureRecords || ds.Test.Len() != fixtureRecords {
		t.Fatalf("sizes %d/%d, want %d/%d", ds.Train.Len(), ds.Test.Len(), 5*fixtureRecords, fixtureRecords)
	}
	for f, name := range allFiles() {
		s, first := ds.Train, f*fixtureRecords
		if name == testFile {
			s, first = ds.Test, 0
		}
		for r := 0; r < fixtureRecords; r++ {
			rec := files[name][r*RecordSize : (r+1)*RecordSize]
			if got := s.Label(first + r); got != int(rec[0]) {
				t.Fatalf("%s record %d: label %d, want %d", name, r, got, rec[0])
			}
			if !bytes.Equal(s.Image(first+r), rec[1:]) {
				t.Fatalf("%s record %d: pixels differ", name, r)
			}
		}
	}
}

func TestLoadLayouts(t *testing.T) {
	lay := fixtureLayout()
	arch := archiveBytes(t, fixtureFiles())
	cases := []struct {
		name  string
		setup func(dir string) string // returns the path to Load
	}{
		{"extracted folder", func(dir string) string { return writeFolder(t, dir, fixtureFiles()) }},
		{"folder holding the extracted folder", func(dir string) string { writeFolder(t, dir, fixtureFiles()); return dir }},
		{"archive file", func(dir string) string { return writeFile(t, filepath.Join(dir, ArchiveName), arch) }},
		{"folder holding the archive", func(dir string) string { writeFile(t, filepath.Join(dir, ArchiveName), arch); return dir }},
		{"data dir with cifar10/archive", func(dir string) string {
			writeFile(t, filepath.Join(dir, "cifar10", ArchiveName), arch)
			return dir
		}},
		{"data dir with cifar10/extracted", func(dir string) string {
			writeFolder(t, filepath.Join(dir, "cifar10"), fixtureFiles())
			return dir
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.setup(t.TempDir())
			ds, err := load(p, lay)
			if err != nil {
				t.Fatal(err)
			}
			checkFixture(t, ds)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	lay := fixtureLayout()
	// Sizes in the messages: a fixture file is 12 records * 3073 = 36,876
	// bytes; truncated drops 1,000; extra adds one record (39,949).
	mutate := func(name string, f func([]byte) []byte) map[string][]byte {
		files := fixtureFiles()
		files[name] = f(files[name])
		return files
	}
	truncated := mutate(testFile, func(b []byte) []byte { return b[:len(b)-1000] })
	badLabel := mutate("data_batch_3.bin", func(b []byte) []byte { b[7*RecordSize] = 17; return b })
	badPixel := mutate("data_batch_2.bin", func(b []byte) []byte { b[5*RecordSize+100] ^= 1; return b })
	extra := mutate("data_batch_1.bin", func(b []byte) []byte { return append(b, make([]byte, RecordSize)...) })
	missing := fixtureFiles()
	delete(missing, "data_batch_4.bin")
	goodArchive := archiveBytes(t, fixtureFiles())

	cases := []struct {
		name    string
		archive bool
		files   map[string][]byte
		raw     []byte // archive bytes, overriding files
		want    []string
	}{
		{"folder: truncated file", false, truncated, nil,
			[]string{"test_batch.bin: truncated: 35876 bytes, want 36876 (record 11 is incomplete)"}},
		{"archive: truncated file", true, truncated, nil,
			[]string{"test_batch.bin: truncated: 35876 bytes, want 36876"}},
		{"folder: label out of range", false, badLabel, nil,
			[]string{"data_batch_3.bin: record 7: label 17 outside 0..9"}},
		{"archive: label out of range", true, badLabel, nil,
			[]string{ArchiveName + ": data_batch_3.bin: record 7: label 17 outside 0..9"}},
		{"folder: checksum", false, badPixel, nil,
			[]string{"data_batch_2.bin: md5 ", "want " + lay.md5["data_batch_2.bin"], "not the official file"}},
		{"archive: checksum", true, badPixel, nil,
			[]string{"data_batch_2.bin: md5 ", "not the official file"}},
		{"folder: extra record", false, extra, nil,
			[]string{"data_batch_1.bin: 39949 bytes, want 36876"}},
		{"folder: missing file", false, missing, nil,
			[]string{"data_batch_4.bin missing"}},
		{"archive: missing file", true, missing, nil,
			[]string{"data_batch_4.bin missing from the archive"}},
		{"archive: cut short", true, nil, goodArchive[:len(goodArchive)/2],
			[]string{ArchiveName + ": ", "truncated"}},
		{"archive: not gzip", true, nil, []byte("<html>not found</html>"),
			[]string{"not a gzip archive"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var p string
			switch {
			case c.raw != nil:
				p = writeFile(t, filepath.Join(dir, ArchiveName), c.raw)
			case c.archive:
				p = writeFile(t, filepath.Join(dir, ArchiveName), archiveBytes(t, c.files))
			default:
				p = writeFolder(t, dir, c.files)
			}
			ds, err := load(p, lay)
			if err == nil {
				t.Fatalf("no error; want %q", c.want)
			}
			if ds != nil {
				t.Errorf("a dataset came back with the error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLocate(t *testing.T) {
	arch := archiveBytes(t, fixtureFiles())
	t.Run("archive", func(t *testing.T) {
		dir := t.TempDir()
		p := writeFile(t, filepath.Join(dir, "cifar10", ArchiveName), arch)
		if got, err := Locate(dir); err != nil || got != p {
			t.Fatalf("Locate = %q, %v; want %q", got, err, p)
		}
	})
	t.Run("extracted folder preferred", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "cifar10", ArchiveName), arch)
		p := writeFolder(t, filepath.Join(dir, "cifar10"), fixtureFiles())
		if got, err := Locate(dir); err != nil || got != p {
			t.Fatalf("Locate = %q, %v; want %q", got, err, p)
		}
	})
	t.Run("not found", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Locate(dir)
		if err == nil {
			t.Fatal("no error for an empty data dir")
		}
		for _, w := range []string{"not found", filepath.Join(dir, "cifar10"), "--data", "REPRO_DATA", "repro data fetch cifar10 --from FILE"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
	})
}

func TestDataDir(t *testing.T) {
	cases := []struct{ flag, env, want string }{
		{"/flag", "/env", "/flag"},
		{"", "/env", "/env"},
		{"", "", "./data"},
	}
	for _, c := range cases {
		t.Setenv(DataDirEnv, c.env)
		if got := DataDir(c.flag); got != c.want {
			t.Errorf("DataDir(%q) with %s=%q = %q, want %q", c.flag, DataDirEnv, c.env, got, c.want)
		}
	}
}

// TestSharedLayout: REPRO_DATA=../shared/datasets must find the archive.
func TestSharedLayout(t *testing.T) {
	p, err := Locate("../../../shared/datasets")
	if err != nil {
		t.Fatalf("the shared data dir must hold cifar10/: %v", err)
	}
	if filepath.Base(p) != ArchiveName {
		t.Errorf("Locate found %s, want the archive", p)
	}
}

// TestRealData checks the shared copy against the numbers in
// ../shared/datasets/cifar10/README.md (computed there independently).
func TestRealData(t *testing.T) {
	ds := realDataset(t)
	train, test := SplitStats(ds.Train), SplitStats(ds.Test)
	if train.Images != 50000 || test.Images != 10000 {
		t.Fatalf("images %d/%d, want 50000/10000", train.Images, test.Images)
	}
	for c := range NumClasses {
		if train.PerClass[c] != 5000 || test.PerClass[c] != 1000 {
			t.Errorf("class %d: %d/%d images, want 5000/1000", c, train.PerClass[c], test.PerClass[c])
		}
	}
	// README: train mean R 125.307, G 122.950, B 113.865; test 126.025,
	// 123.709, 114.854 (0-255). Tolerance: the README's last digit.
	for _, c := range []struct {
		name      string
		got, want [3]float64
	}{
		{"train", train.Mean, [3]float64{125.307, 122.950, 113.865}},
		{"test", test.Mean, [3]float64{126.025, 123.709, 114.854}},
	} {
		for ch := range 3 {
			if math.Abs(c.got[ch]-c.want[ch]) > 0.0015 {
				t.Errorf("%s mean channel %d = %.4f, want %.3f", c.name, ch, c.got[ch], c.want[ch])
			}
		}
	}
	// README spot checks: train record 0 is a frog (6) whose red row 0
	// begins 59 43 50 68 98 119 139 145; test record 0 is a cat (3) with
	// top-left pixel (158, 112, 49); the test labels begin 3 8 8 0 6 6 1 6 3 1.
	if ds.Train.Label(0) != 6 || !bytes.Equal(ds.Train.Image(0)[:8], []byte{59, 43, 50, 68, 98, 119, 139, 145}) {
		t.Errorf("train record 0: label %d, red row %v", ds.Train.Label(0), ds.Train.Image(0)[:8])
	}
	img := ds.Test.Image(0)
	if ds.Test.Label(0) != 3 || img[0] != 158 || img[1024] != 112 || img[2048] != 49 {
		t.Errorf("test record 0: label %d, pixel (%d,%d,%d)", ds.Test.Label(0), img[0], img[1024], img[2048])
	}
	for i, want := range []int{3, 8, 8, 0, 6, 6, 1, 6, 3, 1} {
		if got := ds.Test.Label(i); got != want {
			t.Errorf("test label %d = %d, want %d", i, got, want)
		}
	}
	// The per-pixel mean image averages to the channel means (on [0,1]).
	mean := MeanImage(ds.Train)
	for ch := range 3 {
		var s float64
		for _, v := range mean[ch*1024 : (ch+1)*1024] {
			s += float64(v)
		}
		if got := s / 1024 * 255; math.Abs(got-train.Mean[ch]) > 1e-3 {
			t.Errorf("mean image channel %d averages %.4f (0-255), want %.4f", ch, got, train.Mean[ch])
		}
	}
	// The 45k/5k split.
	tr, val := ds.TrainVal()
	if tr.Name() != "train45k" || val.Name() != "val5k" || tr.Len() != 45000 || val.Len() != 5000 {
		t.Fatalf("TrainVal: %s %d, %s %d", tr.Name(), tr.Len(), val.Name(), val.Len())
	}
	vs := SplitStats(val)
	for c := range NumClasses {
		if vs.PerClass[c] != 500 {
			t.Errorf("val5k class %d: %d images, want 500", c, vs.PerClass[c])
		}
	}
}

func TestResolveSourceEmptyDir(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "no CIFAR-10 here") {
		t.Fatalf("Load(empty dir) error %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing path) error %v, want not-exist", err)
	}
}

// The content digest is the MD5 of the six "<file> <md5>" lines of the
// official files (README checksums), computed by hand with md5sum:
// printf 'data_batch_1.bin 5dd7e06a14cb22eb9f671a540d1b7c25\n...test_batch.bin 803d5f7f4d78ea53de84dbe85f74fb6d\n' | md5sum
func TestContentDigest(t *testing.T) {
	if got := ContentDigest(); got != "md5:"+wantDigest {
		t.Errorf("ContentDigest() = %s, want md5:%s", got, wantDigest)
	}
}

const wantDigest = "cf82bbc1445d467e2e6ffc901db2bce3" // md5sum of the lines above
