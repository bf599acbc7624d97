package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/resnet-repro/resnet-repro/results"
)

// This test binary stands in for the repro executable when a generated
// Slurm script runs it (see TestSubmitRunMerge).
func init() {
	if os.Getenv("REPRO_TEST_AS_REPRO") == "1" {
		os.Exit(run(os.Args, os.Stdout, os.Stderr))
	}
}

// sharedDatasets is ../shared/datasets beside the repository (this package
// is two levels down).
const sharedDatasets = "../../../shared/datasets"

// A minimal CIFAR spec: resnet-8 at width 0.25, 4 iterations of batch 8 on
// 64 images, evaluated (and checkpointed) every 2 iterations on 16 images.
const miniSpec = `id: mini
artifact: Test
title: slurm submit and merge test
kind: train
source: slurm_test.go
dataset: cifar10
recipe: cifar-paper
runs:
  - {name: resnet-8, model: resnet-8}
scales:
  smoke: {iterations: 4, batch: 8, train_subset: 64, eval_subset: 16, eval_interval: 2, width: 0.25}
`

// dump is everything the database says about its runs.
type dump struct {
	Runs    []results.Run
	Metrics [][]results.Metric
	Events  [][]results.Event
}

func dumpDB(t *testing.T, path string) dump {
	t.Helper()
	db, err := results.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var d dump
	if d.Runs, err = db.ListRuns(results.RunFilter{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Runs {
		ms, err := db.Metrics(r.ID, results.MetricFilter{})
		if err != nil {
			t.Fatal(err)
		}
		es, err := db.Events(r.ID)
		if err != nil {
			t.Fatal(err)
		}
		d.Metrics, d.Events = append(d.Metrics, ms), append(d.Events, es)
	}
	return d
}

// runTask runs array task i of the script as Slurm would: bash, from the
// script's directory, with SLURM_ARRAY_TASK_ID set; this test binary is
// the repro it calls.
func runTask(t *testing.T, script string, i int) {
	t.Helper()
	cmd := exec.Command("bash", script)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "REPRO_TEST_AS_REPRO=1", "SLURM_ARRAY_JOB_ID=77", "SLURM_ARRAY_TASK_ID="+strconv.Itoa(i))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("array task %d: %v\n%s", i, err, out)
	}
}

// End to end without a cluster: `repro submit` (a stand-in sbatch on PATH)
// writes the array script and records the job ids; the script's tasks,
// run as Slurm runs them, train real shards with `repro run --scale smoke`;
// `repro merge` imports the finished shards, reports a half-written and a
// corrupt one with a non-zero exit and leaves their runs not done; merging
// again changes nothing; a rerun (requeued) task completes its shard and
// the next merge imports it. All under a directory with a hostile name.
func TestSubmitRunMerge(t *testing.T) {
	data, err := filepath.Abs(sharedDatasets)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "cifar10")); err != nil {
		t.Fatalf("the shared CIFAR-10 copy is missing at %s (the tests need ../shared/datasets beside the repository): %v", data, err)
	}
	base := filepath.Join(t.TempDir(), `it's $(touch pwned) a dir`)
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(base, "mini spec.yaml")
	if err := os.WriteFile(spec, []byte(miniSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	// Stand-ins for sbatch and squeue.
	bin := t.TempDir()
	for name, body := range map[string]string{
		"sbatch": "echo 77",
		"squeue": "printf '77_0|COMPLETED\\n77_[1-2]|PENDING\\n'",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(base, "results", "results.db")

	code, out, errOut := repro("submit", spec, "--slurm", "--scale", "smoke", "--seeds", "3", "--db", dbPath,
		"--data", data, "--bin", exe, "--cpus-per-task", "1", "--time", "10")
	if code != 0 || !strings.Contains(out, "submitted job array 77 (3 task(s))") {
		t.Fatalf("submit: exit %d\n%s%s", code, out, errOut)
	}
	scripts, _ := filepath.Glob(filepath.Join(base, "results", "slurm", "*.sbatch"))
	if len(scripts) != 1 {
		t.Fatalf("scripts written: %v", scripts)
	}
	code, out, errOut = repro("runs", "--db", dbPath)
	if code != 0 || strings.Count(out, " submitted ") != 3 || !strings.Contains(out, "77_0") || !strings.Contains(out, "COMPLETED") ||
		strings.Count(out, "PENDING") != 2 {
		t.Errorf("runs after submit: exit %d\n%s%s", code, out, errOut)
	}

	for i := range 3 {
		runTask(t, scripts[0], i)
	}
	shards, _ := filepath.Glob(filepath.Join(base, "results", "shards", "*.db"))
	if len(shards) != 3 {
		t.Fatalf("shards: %v", shards)
	}
	// Task 2's shard as a crashed task leaves it: its run still running.
	list, err := os.ReadFile(strings.TrimSuffix(scripts[0], ".sbatch") + ".runs")
	if err != nil {
		t.Fatal(err)
	}
	ids := strings.Fields(string(list))
	crashed := filepath.Join(base, "results", "shards", ids[2]+".db")
	sdb, err := results.Open(crashed)
	if err != nil {
		t.Fatal(err)
	}
	if err := sdb.SetStatus(ids[2], results.StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	junk := filepath.Join(base, "results", "shards", "junk.db")
	if err := os.WriteFile(junk, []byte("not an SQLite file"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut = repro("merge", "--db", dbPath)
	if code != 1 || strings.Count(out, "imported ") != 2 || !strings.Contains(out, "partial  "+ids[2]) ||
		!strings.Contains(out, "bad      "+junk) || !strings.Contains(errOut, "not finished") {
		t.Errorf("merge with a crashed and a corrupt shard: exit %d\n%s%s", code, out, errOut)
	}
	first := dumpDB(t, dbPath)
	status := map[string]results.Status{}
	for i, r := range first.Runs {
		status[r.ID] = r.Status
		if r.Status == results.StatusDone && len(first.Metrics[i]) != 2*7 { // evaluations at 2 and 4 x 7 metrics (train, test and val loss and error; lr)
			t.Errorf("run %s: %d metrics", r.ID, len(first.Metrics[i]))
		}
		if want := "77_" + strconv.Itoa(strings.Index(string(list), r.ID)/17); r.JobID != want { // 16 hex digits + newline per line
			t.Errorf("run %s: job id %q, want %q", r.ID, r.JobID, want)
		}
	}
	if len(first.Runs) != 3 || status[ids[0]] != results.StatusDone || status[ids[1]] != results.StatusDone || status[ids[2]] != results.StatusRunning {
		t.Errorf("statuses after merge: %v", status)
	}

	code, _, _ = repro("merge", "--db", dbPath)
	if second := dumpDB(t, dbPath); code != 1 || !reflect.DeepEqual(first, second) {
		t.Errorf("merging again (exit %d) changed the database", code)
	}

	// The requeued task resumes and finishes its shard; merging it imports it.
	os.Remove(junk)
	runTask(t, scripts[0], 2)
	code, out, errOut = repro("merge", "--db", dbPath, crashed)
	if code != 0 || !strings.Contains(out, "imported "+ids[2]) {
		t.Errorf("merge of the finished shard: exit %d\n%s%s", code, out, errOut)
	}
	for _, r := range dumpDB(t, dbPath).Runs {
		if r.Status != results.StatusDone || r.Iteration != 4 {
			t.Errorf("run %s: %s at iteration %d", r.ID, r.Status, r.Iteration)
		}
	}
	// Everything is done: nothing left to submit.
	code, out, _ = repro("submit", spec, "--slurm", "--scale", "smoke", "--seeds", "3", "--db", dbPath, "--bin", exe)
	if code != 0 || !strings.Contains(out, "nothing to submit (3 run(s) skipped)") {
		t.Errorf("submit when all done: exit %d\n%s", code, out)
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(base), "*", "pwned")); len(matches) > 0 {
		t.Errorf("a path was executed: %v", matches)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(base), "pwned")); err == nil {
		t.Error("a path was executed: pwned exists")
	}
}

// Flag and argument errors are bad input (exit 2) and write nothing.
func TestSubmitBadInput(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	for _, args := range [][]string{
		{"submit", "table6", "--db", db},                                     // no --slurm
		{"submit", "--slurm", "--db", db},                                    // no spec
		{"submit", "no-such-spec", "--slurm", "--db", db},                    // unknown spec
		{"submit", "table6", "--slurm", "--scale", "huge", "--db", db},       // unknown scale
		{"submit", "table6", "--slurm", "--only", "resnet-9", "--db", db},    // unknown run
		{"submit", "table6", "--slurm", "--mem", "8G; rm -rf ~", "--db", db}, // unsafe directive
		{"submit", "table6", "--slurm", "--partition", "a\nb", "--db", db},   // newline
		{"submit", "table6", "--slurm", "--cpus-per-task", "-2", "--db", db}, // negative
		{"merge", "--db", db}, // no shards
	} {
		if code, out, errOut := repro(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s%s", args, code, out, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad input wrote %v", entries)
	}
}
