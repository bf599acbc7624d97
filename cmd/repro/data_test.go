package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// sharedData is the shared data directory beside the repository root
// (HELPERS.md): it holds cifar10/cifar-10-binary.tar.gz.
const sharedData = "../../../shared/datasets"

func requireShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sharedData, "cifar10", "cifar-10-binary.tar.gz")); err != nil {
		t.Fatalf("the shared CIFAR-10 archive is required under %s: %v", sharedData, err)
	}
}

// TestDataVerifyCIFAR10Shared: REPRO_DATA pointing at the shared folder
// just works, and the counts and means are the README's (50,000/10,000,
// 5,000/1,000 per class, train means R 125.31 G 122.95 B 113.87).
func TestDataVerifyCIFAR10Shared(t *testing.T) {
	requireShared(t)
	t.Setenv("REPRO_DATA", sharedData)
	var out, errb bytes.Buffer
	if code := run([]string{"repro", "data", "verify", "cifar10"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, re := range []string{
		`official MD5s`,
		`train\s+50000(\s+5000){10}\n`,
		`test\s+10000(\s+1000){10}\n`,
		`train mean \(0-255\): R 125\.31 G 122\.95 B 113\.87`,
	} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("output lacks /%s/:\n%s", re, got)
		}
	}
}

func TestDataVerifyCIFAR10Missing(t *testing.T) {
	var out, errb bytes.Buffer
	dir := t.TempDir()
	code := run([]string{"repro", "data", "verify", "cifar10", "--data", dir}, &out, &errb)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (input)", code)
	}
	for _, w := range []string{"not found", "--data", "REPRO_DATA", "repro data fetch cifar10 --from FILE"} {
		if !strings.Contains(errb.String(), w) {
			t.Errorf("error %q lacks %q", errb.String(), w)
		}
	}
}

func TestDataUnknownDataset(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"repro", "data", "fetch", "mnist"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown dataset "mnist"`) {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestDataFetchCIFAR10From imports the shared re-packed archive and says
// that its archive MD5 differs while its batch files are official.
func TestDataFetchCIFAR10From(t *testing.T) {
	t.Parallel()
	requireShared(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	from := filepath.Join(sharedData, "cifar10", "cifar-10-binary.tar.gz")
	if code := run([]string{"repro", "data", "fetch", "cifar10", "--from", from, "--data", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "differs from the official c32a1d4ab5d03f1284b67883e8d87530") ||
		!strings.Contains(out.String(), "accepted") {
		t.Errorf("output %q", out.String())
	}
	if st, err := os.Stat(filepath.Join(dir, "cifar10", "cifar-10-binary.tar.gz")); err != nil || st.Size() != 170037168 {
		t.Errorf("stored archive: %v %v (README: 170,037,168 bytes)", st, err)
	}
}

// TestDataFetchCIFAR10Corrupt: a server handing out something that is not
// the official archive: the MD5 check fails and nothing is stored.
func TestDataFetchCIFAR10Corrupt(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("not the archive"))
	}))
	defer ts.Close()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"repro", "data", "fetch", "cifar10", "--data", dir, "--url", ts.URL + "/x.tar.gz"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "want c32a1d4ab5d03f1284b67883e8d87530") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "cifar10")); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
	// Not a terminal: progress comes as lines, ending with the final state.
	if !strings.Contains(errb.String(), "downloaded 100.0% 0.0/0.0 MB") {
		t.Errorf("progress lines missing: %q", errb.String())
	}
}

// TestBenchDataCIFAR10 runs the pipeline benchmark command on the shared
// data (wired here directly until `repro bench data` exists).
func TestBenchDataCIFAR10(t *testing.T) {
	t.Parallel()
	requireShared(t)
	var out, errb bytes.Buffer
	app := newApp(&out, &errb)
	app.Commands = append(app.Commands, &cli.Command{Name: "benchdata", Subcommands: []*cli.Command{benchDataCIFAR10Command()}})
	err := app.Run([]string{"repro", "benchdata", "cifar10", "--data", sharedData, "--iters", "20", "--batch", "64"})
	if err != nil {
		t.Fatal(err)
	}
	// 20 batches of 64 = 1280 images.
	if !regexp.MustCompile(`batch 64, 1 worker\(s\): 20 batches, 1280 images in [0-9.]+ s: [0-9]+ images/s`).MatchString(out.String()) {
		t.Errorf("output %q", out.String())
	}
}
