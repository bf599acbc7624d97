package cifar10

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// server serves body at /cifar-10-binary.tar.gz with Range support
// (http.ServeContent); cutAt > 0 makes the next response stop after that
// many bytes of the body (an interrupted transfer); ignoreRange serves the
// whole body to every request. It records the Range headers it saw.
type server struct {
	body        []byte
	mu          sync.Mutex
	cutAt       int
	ignoreRange bool
	ranges      []string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	cut := s.cutAt
	s.cutAt = 0
	s.mu.Unlock()
	if r.URL.Path != "/"+ArchiveName {
		http.NotFound(w, r)
		return
	}
	if cut > 0 {
		// Promise the whole body, send part of it, hang up.
		w.Header().Set("Content-Length", fmt.Sprint(len(s.body)))
		w.WriteHeader(http.StatusOK)
		w.Write(s.body[:cut])
		return
	}
	if s.ignoreRange {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, ArchiveName, time.Time{}, bytes.NewReader(s.body))
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func startServer(t *testing.T, s *server) string {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL + "/" + ArchiveName
}

// fakeArchive is a small archive of the fixture files (~36 KB compressed:
// several 64 KB-read chunks are not needed for the logic under test).
func fakeArchive(t *testing.T) []byte { return archiveBytes(t, fixtureFiles()) }

// stored returns the stored archive's bytes and whether a .part remains.
func stored(t *testing.T, dataDir string) (data []byte, part bool) {
	t.Helper()
	dest := filepath.Join(dataDir, "cifar10", ArchiveName)
	data, err := os.ReadFile(dest)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	_, perr := os.Stat(dest + ".part")
	return data, perr == nil
}

func TestFetchFull(t *testing.T) {
	body := fakeArchive(t)
	srv := &server{body: body}
	url := startServer(t, srv)
	dir := t.TempDir()
	var last, total int64
	calls := 0
	res, err := Fetch(context.Background(), FetchConfig{DataDir: dir, URL: url, MD5: md5hex(body),
		Progress: func(d, tot int64) { last, total = d, tot; calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Present || res.ResumedAt != 0 || res.Downloaded != int64(len(body)) {
		t.Errorf("result %+v, want a fresh download of %d bytes", res, len(body))
	}
	if last != int64(len(body)) || total != int64(len(body)) || calls < 2 {
		t.Errorf("progress ended at %d/%d after %d calls, want %d/%d", last, total, calls, len(body), len(body))
	}
	got, part := stored(t, dir)
	if !bytes.Equal(got, body) || part {
		t.Errorf("stored %d bytes (want %d), .part left: %v", len(got), len(body), part)
	}
	// The stored archive loads.
	ds, err := load(res.Path, fixtureLayout())
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, ds)
	// A second fetch finds it and downloads nothing.
	res, err = Fetch(context.Background(), FetchConfig{DataDir: dir, URL: url, MD5: md5hex(body)})
	if err != nil || !res.Present || len(srv.ranges) != 1 {
		t.Errorf("second fetch: %+v, %v, %d requests; want Present and no request", res, err, len(srv.ranges))
	}
}

func TestFetchInterruptedThenResumed(t *testing.T) {
	for _, ignoreRange := range []bool{false, true} {
		t.Run(fmt.Sprintf("server ignores Range %v", ignoreRange), func(t *testing.T) {
			body := fakeArchive(t)
			cut := len(body) * 2 / 5
			srv := &server{body: body, cutAt: cut, ignoreRange: ignoreRange}
			url := startServer(t, srv)
			dir := t.TempDir()
			cfg := FetchConfig{DataDir: dir, URL: url, MD5: md5hex(body)}
			_, err := Fetch(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), "interrupted") || !strings.Contains(err.Error(), "resume") {
				t.Fatalf("interrupted transfer: error %v", err)
			}
			got, part := stored(t, dir)
			if got != nil || !part {
				t.Fatalf("after the interruption: archive stored %v, .part kept %v; want no archive and a .part", got != nil, part)
			}
			partData, _ := os.ReadFile(filepath.Join(dir, "cifar10", ArchiveName+".part"))
			if !bytes.Equal(partData, body[:cut]) {
				t.Fatalf(".part holds %d bytes, want the first %d", len(partData), cut)
			}
			res, err := Fetch(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if srv.ranges[1] != fmt.Sprintf("bytes=%d-", cut) {
				t.Errorf("resume asked for %q, want bytes=%d-", srv.ranges[1], cut)
			}
			wantResumed, wantDown := int64(cut), int64(len(body)-cut)
			if ignoreRange { // the server sent it all again: start over
				wantResumed, wantDown = 0, int64(len(body))
			}
			if res.ResumedAt != wantResumed || res.Downloaded != wantDown {
				t.Errorf("result %+v, want resumed at %d, %d downloaded", res, wantResumed, wantDown)
			}
			got, part = stored(t, dir)
			if !bytes.Equal(got, body) || part {
				t.Errorf("stored %d bytes (want %d), .part left %v", len(got), len(body), part)
			}
		})
	}
}

func TestFetchCorrupt(t *testing.T) {
	body := fakeArchive(t)
	bad := bytes.Clone(body)
	bad[len(bad)/2] ^= 0xff
	srv := &server{body: bad}
	url := startServer(t, srv)
	dir := t.TempDir()
	_, err := Fetch(context.Background(), FetchConfig{DataDir: dir, URL: url, MD5: md5hex(body)})
	if err == nil || !strings.Contains(err.Error(), "md5 "+md5hex(bad)+", want "+md5hex(body)) {
		t.Fatalf("corrupt transfer: error %v", err)
	}
	got, part := stored(t, dir)
	if got != nil || part {
		t.Errorf("after a corrupt transfer: archive stored %v, .part left %v; want neither", got != nil, part)
	}
	// Nothing there: Locate still says not found.
	if _, err := Locate(dir); !errors.Is(err, ErrNotFound) {
		t.Errorf("Locate after a corrupt transfer: %v", err)
	}
}

func TestFetchHTTPError(t *testing.T) {
	url := startServer(t, &server{body: fakeArchive(t)})
	dir := t.TempDir()
	_, err := Fetch(context.Background(), FetchConfig{DataDir: dir, URL: url + ".missing", MD5: "x"})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: error %v", err)
	}
}

func TestEnsure(t *testing.T) {
	body := fakeArchive(t)
	url := startServer(t, &server{body: body})
	dir := t.TempDir()
	var log bytes.Buffer
	p, err := Ensure(context.Background(), FetchConfig{DataDir: dir, URL: url, MD5: md5hex(body)}, &log)
	if err != nil || p != filepath.Join(dir, "cifar10", ArchiveName) || !strings.Contains(log.String(), "downloading") {
		t.Fatalf("Ensure = %q, %v; log %q", p, err, log.String())
	}
	// Unreachable server: the error explains how to point at a local copy.
	_, err = Ensure(context.Background(), FetchConfig{DataDir: t.TempDir(), URL: "http://127.0.0.1:1/x", MD5: "x"}, &log)
	if err == nil || !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "--from FILE") || !strings.Contains(err.Error(), "download failed") {
		t.Fatalf("Ensure offline: %v", err)
	}
}

func TestImportFixture(t *testing.T) {
	lay := fixtureLayout()
	t.Run("valid", func(t *testing.T) {
		src := writeFile(t, filepath.Join(t.TempDir(), "copy.tgz"), fakeArchive(t))
		dir := t.TempDir()
		res, err := importArchive(src, dir, lay)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := stored(t, dir)
		if !bytes.Equal(got, fakeArchive(t)) || res.MD5 != md5hex(got) || res.Official {
			t.Errorf("import: %+v, stored %d bytes", res, len(got))
		}
	})
	t.Run("bad content leaves nothing", func(t *testing.T) {
		files := fixtureFiles()
		files["data_batch_5.bin"][3*RecordSize+9] ^= 1
		src := writeFile(t, filepath.Join(t.TempDir(), "copy.tgz"), archiveBytes(t, files))
		dir := t.TempDir()
		_, err := importArchive(src, dir, lay)
		if err == nil || !strings.Contains(err.Error(), "data_batch_5.bin: md5") {
			t.Fatalf("error %v", err)
		}
		ents, _ := os.ReadDir(filepath.Join(dir, "cifar10"))
		if len(ents) != 0 {
			t.Errorf("left behind: %v", ents)
		}
	})
}

// TestImportShared imports the real shared archive, a re-packed archive
// whose MD5 (6cb05f76..., README) is not the official one but whose six
// batch files are.
func TestImportShared(t *testing.T) {
	if _, err := os.Stat(sharedArchive); err != nil {
		t.Fatalf("the shared CIFAR-10 archive is required at %s: %v", sharedArchive, err)
	}
	dir := t.TempDir()
	res, err := Import(sharedArchive, dir)
	if err != nil {
		t.Fatal(err)
	}
	// README: md5 6cb05f76848c97b3d17dbe9a33001249, 170,037,168 bytes.
	if res.Official || res.MD5 != "6cb05f76848c97b3d17dbe9a33001249" {
		t.Errorf("import result %+v", res)
	}
	st, err := os.Stat(res.Path)
	if err != nil || st.Size() != 170037168 {
		t.Errorf("stored archive: %v, %v", st, err)
	}
	if p, err := Locate(dir); err != nil || p != res.Path {
		t.Errorf("Locate after import = %q, %v", p, err)
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, false)
	clock := time.Unix(0, 0)
	p.now = func() time.Time { return clock }
	const mb = 1 << 20
	for i := int64(0); i <= 10; i++ { // 10 MB over 10 s, one update a second
		p.Update(i*mb, 10*mb)
		clock = clock.Add(time.Second)
	}
	p.Finish()
	// Interval 5 s: lines at t=5 s and t=10 s, plus Finish at 11 s.
	want := "downloaded  50.0% 5.0/10.0 MB 1.0 MB/s\n" +
		"downloaded 100.0% 10.0/10.0 MB 1.0 MB/s\n" +
		"downloaded 100.0% 10.0/10.0 MB 0.9 MB/s\n"
	if buf.String() != want {
		t.Errorf("non-terminal progress:\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	p = NewProgress(&buf, true)
	p.now = func() time.Time { return clock }
	p.Update(0, 4*mb)
	clock = clock.Add(time.Second)
	p.Update(mb, 4*mb)
	p.Finish()
	if !strings.HasPrefix(buf.String(), "\r[=======                       ]  25.0% 1.0/4.0 MB 1.0 MB/s") || !strings.HasSuffix(buf.String(), "\n") {
		t.Errorf("terminal progress %q", buf.String())
	}
}
