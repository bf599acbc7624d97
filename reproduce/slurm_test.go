package reproduce

import (
	"context"
	"flag"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resnet-repro/resnet-repro/experiments"
	"github.com/resnet-repro/resnet-repro/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// hostile is a directory name a shell would misread in every way it can
// (quotes, command substitution, variable, glob, spaces, a backslash); it is
// legal for a path, so the generator must carry it through unharmed.
const hostile = `it's "a" $(touch pwned) ${HOME} *; ` + "`id`" + ` \ dir`

// ShellQuote's output, read back by a real shell, is its input, and nothing
// in it is executed; control characters are refused.
func TestShellQuote(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		in   string
		want string // the quoted word; "" = refused
	}{
		{"plain", `'plain'`},
		{"", `''`},
		{"it's", `'it'\''s'`},
		{"''", `''\'''\'''`},
		{"$(touch pwned)", `'$(touch pwned)'`},
		{"`touch pwned`", "'`touch pwned`'"},
		{"a b\\c*?[x]~!#&;|<>", `'a b\c*?[x]~!#&;|<>'`},
		{"ünïcode", `'ünïcode'`},
		{hostile, `'it'\''s "a" $(touch pwned) ${HOME} *; ` + "`id`" + ` \ dir'`},
		{"line\nbreak", ""},
		{"carriage\rreturn", ""},
		{"tab\there", ""},
		{"nul\x00", ""},
		{"del\x7f", ""},
	} {
		got, err := ShellQuote(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ShellQuote(%q) = %s, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ShellQuote(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
			continue
		}
		cmd := exec.Command("sh", "-c", "printf %s "+got)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil || string(out) != tc.in {
			t.Errorf("sh read %s back as %q (%v), want %q", got, out, err, tc.in)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("quoted words executed something: %s holds %v", dir, entries)
	}
}

// goldenScript is an ArrayScript with hostile paths in every field that
// takes one.
func goldenScript(root string) *ArrayScript {
	return &ArrayScript{
		Name:      "20250102-030405-table6-smoke",
		SlurmDir:  filepath.Join(root, "results", "slurm"),
		Binary:    filepath.Join(root, "bin", "repro"),
		WorkDir:   root,
		Specs:     []string{"table6", filepath.Join(root, "my spec.yaml")},
		Scale:     experiments.ScaleSmoke,
		Seeds:     2,
		DataDir:   filepath.Join(root, "data"),
		ShardDir:  filepath.Join(root, "results", "shards"),
		RunIDs:    []string{"0123456789abcdef", "fedcba9876543210", "00000000000000aa"},
		Resources: Resources{Partition: "gpu,cpu", Time: "2-00:00:00", CPUsPerTask: 8, Mem: "16G"},
	}
}

// The script generator's output, byte for byte (regenerate with
// `go test ./reproduce -run Golden -update` after a deliberate change).
func TestArrayScriptGolden(t *testing.T) {
	a := goldenScript("/cluster/" + hostile)
	got, err := a.Script()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "slurm", "array.sbatch")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if got != string(want) {
		t.Errorf("script differs from %s (rerun with -update if deliberate):\n%s", golden, got)
	}
	if out, err := exec.Command("bash", "-n", "-c", got).CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v: %s", err, out)
	}
	if want := "0123456789abcdef\nfedcba9876543210\n00000000000000aa\n"; a.RunList() != want {
		t.Errorf("run list %q, want %q", a.RunList(), want)
	}
}

// The script, run by bash as Slurm runs it, calls repro with exactly the
// arguments meant (hostile paths intact) for the run of its array task, and
// nothing in a path is executed.
func TestArrayScriptRunsTheTaskRun(t *testing.T) {
	root := filepath.Join(t.TempDir(), hostile)
	a := goldenScript(root)
	// A stand-in repro that records its arguments, one per line.
	if err := os.MkdirAll(filepath.Dir(a.Binary), 0o755); err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(t.TempDir(), "args")
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$REPRO_ARGS\"\npwd >> \"$REPRO_ARGS\"\n"
	if err := os.WriteFile(a.Binary, []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := a.Write(); err != nil {
		t.Fatal(err)
	}
	for task, id := range a.RunIDs {
		cmd := exec.Command("bash", a.ScriptPath())
		cmd.Dir = a.SlurmDir
		cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID="+string(rune('0'+task)), "SLURM_ARRAY_JOB_ID=42", "REPRO_ARGS="+argsFile)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("task %d: %v: %s", task, err, out)
		}
		got, err := os.ReadFile(argsFile)
		if err != nil {
			t.Fatal(err)
		}
		shard := filepath.Join(a.ShardDir, id)
		want := strings.Join([]string{"run", "table6", filepath.Join(root, "my spec.yaml"), "--scale", "smoke", "--seeds", "2",
			"--data", filepath.Join(root, "data"), "--threads", "8", "--run-id", id, "--db", shard + ".db",
			"--checkpoints", shard + ".ckpt", root}, "\n") + "\n"
		if string(got) != want {
			t.Errorf("task %d ran repro with\n%s\nwant\n%s", task, got, want)
		}
	}
	if fi, err := os.Stat(a.ShardDir); err != nil || !fi.IsDir() {
		t.Errorf("shard directory not created: %v", err)
	}
	for _, d := range []string{root, a.SlurmDir, a.WorkDir, filepath.Dir(root)} {
		if _, err := os.Stat(filepath.Join(d, "pwned")); err == nil {
			t.Errorf("a path was executed: %s/pwned exists", d)
		}
	}
	// A task index beyond the list fails without running repro.
	os.Remove(argsFile)
	cmd := exec.Command("bash", a.ScriptPath())
	cmd.Dir = a.SlurmDir
	cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=7", "REPRO_ARGS="+argsFile)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no run id on line 8") {
		t.Errorf("task 7 of 3: %v: %s", err, out)
	}
	if _, err := os.Stat(argsFile); err == nil {
		t.Error("task 7 of 3 ran repro")
	}
}

// What the generator refuses, and why.
func TestArrayScriptRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(a *ArrayScript)
		want   string // part of the error
	}{
		{"newline in a spec path", func(a *ArrayScript) { a.Specs[1] = "/x/evil\nrm -rf ~.yaml" }, "control character"},
		{"newline in the work dir", func(a *ArrayScript) { a.WorkDir = "/x\n/y" }, "control character"},
		{"newline in the data dir", func(a *ArrayScript) { a.DataDir = "/data\n" }, "control character"},
		{"relative binary", func(a *ArrayScript) { a.Binary = "bin/repro" }, "not an absolute path"},
		{"relative shard dir", func(a *ArrayScript) { a.ShardDir = "results/shards" }, "not an absolute path"},
		{"partition with a space", func(a *ArrayScript) { a.Resources.Partition = "gpu --wrap=id" }, "--partition"},
		{"mem with substitution", func(a *ArrayScript) { a.Resources.Mem = "$(id)" }, "--mem"},
		{"time with a newline", func(a *ArrayScript) { a.Resources.Time = "1:00\n#SBATCH --uid=0" }, "--time"},
		{"negative cpus", func(a *ArrayScript) { a.Resources.CPUsPerTask = -1 }, "--cpus-per-task"},
		{"run id not hex", func(a *ArrayScript) { a.RunIDs[0] = "$(id)" }, "run id"},
		{"no runs", func(a *ArrayScript) { a.RunIDs = nil }, "no runs"},
		{"name with a slash", func(a *ArrayScript) { a.Name = "../x" }, "script name"},
	} {
		a := goldenScript("/cluster")
		tc.change(a)
		if s, err := a.Script(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q (script %d bytes)", tc.name, err, tc.want, len(s))
		}
	}
}

func TestParseSbatch(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{"1234\n", "1234"},
		{"1234;cluster2\n", "1234"},
		{"sbatch: warning: something\n77\n", "77"},
		{"Submitted batch job 1234\n", ""}, // not --parsable output
		{"", ""},
	} {
		got, err := parseSbatch(tc.out)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("parseSbatch(%q) = %q, %v; want %q", tc.out, got, err, tc.want)
		}
	}
}

func TestParseJobStates(t *testing.T) {
	// squeue --array --format=%i|%T and sacct --parsable2 --format=JobID,State
	// lines, as Slurm 22.05 prints them.
	out := "1234_0|RUNNING\n1234_[1-3,7%2]|PENDING\n99|COMPLETED\n1235_4|CANCELLED by 1000\n\ngarbage\n"
	want := map[string]string{"1234_0": "RUNNING", "1234_1": "PENDING", "1234_2": "PENDING", "1234_3": "PENDING",
		"1234_7": "PENDING", "99": "COMPLETED", "1235_4": "CANCELLED"}
	if got := ParseJobStates(out); !maps.Equal(got, want) {
		t.Errorf("ParseJobStates = %v, want %v", got, want)
	}
}

// Submit skips done runs and runs in flight, writes the script, calls
// sbatch from the Slurm directory and records each task's job id.
func TestSubmitRecordsJobIDs(t *testing.T) {
	dir := t.TempDir()
	spec := specFile(t)
	db, err := results.Open(filepath.Join(dir, "results.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts := RunOptions{Resolve: experiments.Options{Scale: experiments.ScaleSmoke, Seeds: 3}}
	planned, err := Plan([]string{spec}, opts)
	if err != nil || len(planned) != 3 { // tinySpec's one run x 3 seeds
		t.Fatalf("plan: %d runs, %v", len(planned), err)
	}
	// Seed 2 is done already.
	if _, err := db.UpsertRun(results.Run{ID: planned[1].ID, Spec: "tiny", Name: "resnet-8", Seed: 2}); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFinished(planned[1].ID, results.StatusDone, ""); err != nil {
		t.Fatal(err)
	}
	// A stand-in sbatch: records its arguments and directory, prints a job id.
	log := filepath.Join(dir, "sbatch.log")
	sbatch := filepath.Join(dir, "sbatch")
	fake := "#!/bin/sh\n{ pwd; printf '%s\\n' \"$@\"; } > " + mustQuote(t, log) + "\necho '4242;cluster'\n"
	if err := os.WriteFile(sbatch, []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	so := SubmitOptions{Run: opts, ResultsDir: dir, Binary: "/usr/bin/repro", Sbatch: sbatch,
		Now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	sub, err := Submit(context.Background(), db, []string{spec}, so)
	if err != nil {
		t.Fatal(err)
	}
	if sub.JobID != "4242" || len(sub.Submitted) != 2 || len(sub.Skipped) != 1 || sub.Skipped[0].Reason != "done" {
		t.Fatalf("submission: job %q, %d submitted, skipped %+v", sub.JobID, len(sub.Submitted), sub.Skipped)
	}
	wantScript := filepath.Join(dir, "slurm", "20250102-030405-tiny-smoke.sbatch")
	if got, _ := os.ReadFile(log); string(got) != filepath.Join(dir, "slurm")+"\n--parsable\n"+wantScript+"\n" {
		t.Errorf("sbatch called as\n%s", got)
	}
	list, _ := os.ReadFile(sub.Script.ListPath())
	if string(list) != planned[0].ID+"\n"+planned[2].ID+"\n" {
		t.Errorf("run list %q", list)
	}
	for i, p := range []PlannedRun{planned[0], planned[2]} {
		r, err := db.GetRun(p.ID)
		if err != nil || r.Status != results.StatusSubmitted || r.JobID != "4242_"+string(rune('0'+i)) || r.Seed != int64(p.Seed) ||
			r.Scale != experiments.ScaleSmoke || r.Iterations != 12 { // tinySpec's smoke iterations
			t.Errorf("seed %d: %+v, %v", p.Seed, r, err)
		}
	}
	// Submitting again: all skipped (done or in flight) unless --resubmit.
	again, err := Submit(context.Background(), db, []string{spec}, so)
	if err != nil || again.Script != nil || len(again.Skipped) != 3 {
		t.Errorf("second submit: %+v, %v", again, err)
	}
	so.Resubmit, so.DryRun = true, true
	dry, err := Submit(context.Background(), db, []string{spec}, so)
	if err != nil || dry.JobID != "" || len(dry.Submitted) != 2 {
		t.Errorf("dry resubmit: %+v, %v", dry, err)
	}
	if r, _ := db.GetRun(planned[0].ID); r.JobID != "4242_0" {
		t.Errorf("a dry run changed the database: job %q", r.JobID)
	}
}

func mustQuote(t *testing.T, s string) string {
	q, err := ShellQuote(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Plan lists what RunSpecs trains, selects runs by id and refuses an
// unknown id.
func TestPlanRunIDs(t *testing.T) {
	spec := specFile(t)
	opts := RunOptions{Resolve: experiments.Options{Scale: experiments.ScaleSmoke, Seeds: 2}}
	all, err := Plan([]string{spec}, opts)
	if err != nil || len(all) != 2 || all[0].Seed != 1 || all[1].Seed != 2 {
		t.Fatalf("plan: %+v, %v", all, err)
	}
	if all[0].ID != all[0].Config.ID(1) {
		t.Errorf("planned id %s, Config.ID(1) = %s", all[0].ID, all[0].Config.ID(1))
	}
	opts.RunIDs = []string{all[1].ID}
	one, err := Plan([]string{spec}, opts)
	if err != nil || len(one) != 1 || one[0].ID != all[1].ID {
		t.Errorf("plan by id: %+v, %v", one, err)
	}
	opts.RunIDs = []string{"0000000000000000"}
	if _, err := Plan([]string{spec}, opts); err == nil || !strings.Contains(err.Error(), "no run with id") {
		t.Errorf("unknown id: %v", err)
	}
	env := newEnv(t, t.TempDir())
	if _, err := env.RunSpecs(context.Background(), []string{spec}, opts); err == nil || !strings.Contains(err.Error(), "no run with id") {
		t.Errorf("RunSpecs with an unknown id: %v", err)
	}
	if all[0].ID == all[1].ID {
		t.Errorf("seeds 1 and 2 share the id %s", all[0].ID)
	}
}
