package reproduce

// Slurm submission and shard merging (issue 7).
//
// A paper-scale sweep is dozens of independent runs; `repro submit --slurm`
// hands them to a Slurm cluster as one job array, one array task per run.
// Each task runs `repro run SPEC... --run-id ID` for exactly its run and
// writes to its own SQLite shard, results/shards/<run-id>.db, with its
// checkpoints beside it in results/shards/<run-id>.ckpt/, so no two nodes
// write one SQLite file over a network file system and a requeued task
// resumes from its last checkpoint. `repro merge` folds the shards into the
// main database (results.MergeShard).
//
// Everything that reaches the generated script's shell is either generated
// here (run ids, which are hex, and integers) or single-quoted by ShellQuote;
// values that go into #SBATCH lines, which sbatch parses without a shell, are
// restricted to a safe character set. Newlines and other control characters
// are rejected everywhere.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/resnet-repro/resnet-repro/results"
)

// ShellQuote returns s as one single-quoted POSIX shell word: every byte
// stands for itself between single quotes, and a single quote inside s is
// written as quote, backslash, quote, quote (close, escaped quote, reopen):
//
//	it's -> 'it'\''s'
//
// It refuses strings with a newline, NUL or another control
// character: they have no business in a path or name and would make the
// script unreadable.
func ShellQuote(s string) (string, error) {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%q contains a control character (newline, tab, ...): not allowed in a generated script", s)
		}
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
}

// Resources are what each array task asks Slurm for; an empty field leaves
// the cluster's default.
type Resources struct {
	Partition   string // --partition
	Time        string // --time, e.g. "2-00:00:00" or "90"
	CPUsPerTask int    // --cpus-per-task; also the task's --threads
	Mem         string // --mem, e.g. "8G"
}

func (r Resources) directives() [][2]string {
	return [][2]string{{"partition", r.Partition}, {"time", r.Time}, {"mem", r.Mem}}
}

// Validate checks that each resource can go into an #SBATCH line.
func (r Resources) Validate() error {
	if r.CPUsPerTask < 0 {
		return fmt.Errorf("--cpus-per-task %d must be positive", r.CPUsPerTask)
	}
	for _, d := range r.directives() {
		if d[1] != "" && !directiveValue.MatchString(d[1]) {
			return fmt.Errorf("--%s %q: want letters, digits and . , : + @ / - only", d[0], d[1])
		}
	}
	return nil
}

// directiveValue matches what may follow `#SBATCH --opt=`: sbatch splits
// those lines itself (no shell), so only plain tokens are allowed.
var directiveValue = regexp.MustCompile(`^[A-Za-z0-9_.,:+@/-]+$`)

// runIDSyntax is what Config.ID returns: hex digits.
var runIDSyntax = regexp.MustCompile(`^[0-9a-f]+$`)

// scriptName is the base name of a submission's files.
var scriptName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// ArrayScript is one sbatch job-array script: array task i trains the run
// RunIDs[i] of Specs into the shard ShardDir/<run-id>.db, checkpointing into
// ShardDir/<run-id>.ckpt.
type ArrayScript struct {
	// Name is the base name of the files: <Name>.sbatch, the run list
	// <Name>.runs and the task logs <Name>-<job>_<task>.out, all in the
	// Slurm directory (results/slurm). Letters, digits, '.', '_', '-'.
	Name string
	// SlurmDir is the absolute directory of the script, run list and logs.
	SlurmDir string
	// Binary is the absolute path of the repro executable the tasks run.
	Binary string
	// WorkDir is the absolute directory the tasks run in (where repro
	// submit ran).
	WorkDir string
	// Specs are the spec arguments of `repro run` (ids or absolute files).
	Specs []string
	Scale string
	// Seeds is passed on as --seeds when positive.
	Seeds int
	// DataDir, if set, is passed on as --data.
	DataDir string
	// ShardDir is the absolute directory of the shards.
	ShardDir  string
	RunIDs    []string
	Resources Resources
}

// ScriptPath and ListPath are where Write puts the script and run list.
func (a *ArrayScript) ScriptPath() string { return filepath.Join(a.SlurmDir, a.Name+".sbatch") }
func (a *ArrayScript) ListPath() string   { return filepath.Join(a.SlurmDir, a.Name+".runs") }

// RunList is the run list: line i+1 is array task i's run id.
func (a *ArrayScript) RunList() string {
	return strings.Join(a.RunIDs, "\n") + "\n"
}

// Script renders the sbatch script. The script is meant to be submitted
// from SlurmDir (Slurm resolves the relative --output there); Submit does.
func (a *ArrayScript) Script() (string, error) {
	if !scriptName.MatchString(a.Name) {
		return "", fmt.Errorf("script name %q: want letters, digits, '.', '_' and '-'", a.Name)
	}
	if len(a.RunIDs) == 0 {
		return "", errors.New("no runs to submit")
	}
	for _, id := range a.RunIDs {
		if !runIDSyntax.MatchString(id) {
			return "", fmt.Errorf("run id %q: want hex digits (experiments.Config.ID)", id)
		}
	}
	if len(a.Specs) == 0 {
		return "", errors.New("no specs")
	}
	for _, p := range [][2]string{{"slurm directory", a.SlurmDir}, {"repro binary", a.Binary}, {"work directory", a.WorkDir}, {"shard directory", a.ShardDir}} {
		if !filepath.IsAbs(p[1]) {
			return "", fmt.Errorf("%s %q is not an absolute path", p[0], p[1])
		}
	}
	r := a.Resources
	if err := r.Validate(); err != nil {
		return "", err
	}
	// Generated values (name, array range, file pattern) are safe by
	// construction.
	directives := [][2]string{
		{"job-name", "repro-" + a.Name},
		{"array", fmt.Sprintf("0-%d", len(a.RunIDs)-1)},
		{"output", a.Name + "-%A_%a.out"},
		{"open-mode", "append"},
	}
	for _, d := range r.directives() {
		if d[1] != "" {
			directives = append(directives, d)
		}
	}
	if r.CPUsPerTask > 0 {
		directives = append(directives, [2]string{"cpus-per-task", strconv.Itoa(r.CPUsPerTask)})
	}
	var qerr error // the first value that cannot be quoted
	q := func(s string) string {
		w, err := ShellQuote(s)
		if err != nil && qerr == nil {
			qerr = err
		}
		return w
	}
	b := new(strings.Builder)
	fmt.Fprintf(b, "#!/bin/bash\n")
	fmt.Fprintf(b, "# Generated by `repro submit` (reproduce/slurm.go); edits are lost on the next submit.\n")
	fmt.Fprintf(b, "# Array task i trains the run on line i+1 of %s.runs into its own shard;\n", a.Name)
	fmt.Fprintf(b, "# `repro merge` folds the shards into the results database.\n")
	fmt.Fprintf(b, "# Submit from this directory: sbatch --parsable %s.sbatch\n", a.Name)
	for _, d := range directives {
		fmt.Fprintf(b, "#SBATCH --%s=%s\n", d[0], d[1])
	}
	fmt.Fprintf(b, "#SBATCH --requeue\n")
	fmt.Fprintf(b, "set -euo pipefail\n")
	fmt.Fprintf(b, "list=%s\n", q(a.ListPath()))
	fmt.Fprintf(b, "shards=%s\n", q(a.ShardDir))
	fmt.Fprintf(b, "task=${SLURM_ARRAY_TASK_ID:?not running as a Slurm array task}\n")
	fmt.Fprintf(b, "case $task in ''|*[!0-9]*) echo \"bad SLURM_ARRAY_TASK_ID\" >&2; exit 2;; esac\n")
	fmt.Fprintf(b, "run_id=$(sed -n \"$((task + 1))p\" \"$list\")\n")
	fmt.Fprintf(b, "case $run_id in ''|*[!0-9a-f]*) echo \"task $task: no run id on line $((task + 1)) of $list\" >&2; exit 2;; esac\n")
	fmt.Fprintf(b, "cd %s\n", q(a.WorkDir))
	fmt.Fprintf(b, "mkdir -p \"$shards\"\n")
	fmt.Fprintf(b, "echo \"task $task: run $run_id on $(hostname) (job ${SLURM_ARRAY_JOB_ID:-?}_$task, restart ${SLURM_RESTART_COUNT:-0})\"\n")
	args := []string{q(a.Binary) + " run"}
	for _, s := range a.Specs {
		args = append(args, q(s))
	}
	args = append(args, "--scale "+q(a.Scale))
	if a.Seeds > 0 {
		args = append(args, "--seeds "+strconv.Itoa(a.Seeds))
	}
	if a.DataDir != "" {
		args = append(args, "--data "+q(a.DataDir))
	}
	if a.Resources.CPUsPerTask > 0 {
		args = append(args, "--threads "+strconv.Itoa(a.Resources.CPUsPerTask))
	}
	args = append(args, `--run-id "$run_id"`, `--db "$shards/$run_id.db"`, `--checkpoints "$shards/$run_id.ckpt"`)
	fmt.Fprintf(b, "exec %s\n", strings.Join(args, " \\\n\t"))
	if qerr != nil {
		return "", qerr
	}
	return b.String(), nil
}

// Write writes the script and its run list into SlurmDir, atomically.
func (a *ArrayScript) Write() error {
	script, err := a.Script()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.SlurmDir, 0o755); err != nil {
		return err
	}
	if err := writeAtomic(a.ListPath(), []byte(a.RunList()), 0o644); err != nil {
		return err
	}
	return writeAtomic(a.ScriptPath(), []byte(script), 0o755)
}

// writeAtomic writes data to a temporary file beside path and renames it.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// SubmitOptions configure Submit.
type SubmitOptions struct {
	Run       RunOptions
	Resources Resources
	// ResultsDir is the directory of the main database; the script goes to
	// ResultsDir/slurm and the shards to ResultsDir/shards.
	ResultsDir string
	// Binary is the repro executable the tasks run (absolute).
	Binary string
	// DataDir, if set, is passed on to the tasks as --data.
	DataDir string
	// Sbatch is the sbatch command (default "sbatch", found on PATH).
	Sbatch string
	// DryRun writes the script and run list but neither submits nor
	// records anything.
	DryRun bool
	// Resubmit also submits runs the database records as submitted or
	// running (a lost or cancelled job); they are skipped otherwise.
	Resubmit bool
	// Now names the files (default time.Now()).
	Now time.Time
	Log io.Writer
}

// Submission is what Submit did.
type Submission struct {
	Script    *ArrayScript // nil when nothing was left to submit
	Submitted []PlannedRun // in array order: task i is Submitted[i]
	Skipped   []Skipped
	// JobID is the array's job id ("" on a dry run); task i is JobID_i.
	JobID string
}

// Skipped is a planned run that was not submitted, and why.
type Skipped struct {
	Run    PlannedRun
	Reason string
}

// TaskJobID is the Slurm id of array task i: "<job>_<i>".
func (s Submission) TaskJobID(i int) string { return s.JobID + "_" + strconv.Itoa(i) }

// Submit plans the runs of specs, skips those db records as done (or, unless
// Resubmit, as submitted or running), writes a job-array script for the rest
// and, unless DryRun, submits it with `sbatch --parsable` and records each
// run as submitted with its task's job id. db may be nil on a dry run (no
// database yet).
func Submit(ctx context.Context, db *results.DB, specs []string, o SubmitOptions) (Submission, error) {
	var sub Submission
	if db == nil && !o.DryRun {
		return sub, errors.New("submit: no results database")
	}
	planned, err := Plan(specs, o.Run)
	if err != nil {
		return sub, err
	}
	for _, p := range planned {
		if db != nil {
			r, err := db.GetRun(p.ID)
			switch {
			case errors.Is(err, results.ErrNotFound):
			case err != nil:
				return sub, err
			case r.Status == results.StatusDone:
				sub.Skipped = append(sub.Skipped, Skipped{p, "done"})
				continue
			case (r.Status == results.StatusSubmitted || r.Status == results.StatusRunning) && !o.Resubmit:
				sub.Skipped = append(sub.Skipped, Skipped{p, fmt.Sprintf("%s as job %s (--resubmit submits it again)", r.Status, orDash(r.JobID))})
				continue
			}
		}
		sub.Submitted = append(sub.Submitted, p)
	}
	if len(sub.Submitted) == 0 {
		return sub, nil
	}
	a, err := o.script(specs, sub.Submitted)
	if err != nil {
		return sub, err
	}
	if err := a.Write(); err != nil {
		return sub, fmt.Errorf("write %s: %w", a.ScriptPath(), err)
	}
	sub.Script = a
	if o.DryRun {
		return sub, nil
	}
	// Record the runs before submitting, so that no task runs unrecorded.
	for _, p := range sub.Submitted {
		cfg, err := json.Marshal(p.Config)
		if err != nil {
			return sub, err
		}
		if _, err := db.UpsertRun(results.Run{ID: p.ID, Spec: p.Spec, Name: p.Name, ConfigJSON: string(cfg), Scale: o.Run.Resolve.Scale,
			Seed: int64(p.Seed), Iterations: int64(p.Config.Training.Iterations)}); err != nil {
			return sub, err
		}
	}
	if err := catalogSpecs(db, specs); err != nil {
		return sub, err
	}
	sub.JobID, err = sbatch(ctx, o.Sbatch, a)
	if err != nil {
		return sub, err
	}
	for i, p := range sub.Submitted {
		if err := db.MarkSubmitted(p.ID, sub.TaskJobID(i)); err != nil {
			return sub, fmt.Errorf("job %s was submitted but recording it failed: %w", sub.JobID, err)
		}
	}
	return sub, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// script builds the array script for the runs to submit.
func (o SubmitOptions) script(specs []string, runs []PlannedRun) (*ArrayScript, error) {
	abs := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		return filepath.Abs(p)
	}
	root, err := abs(o.ResultsDir)
	if err != nil {
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	data, err := abs(o.DataDir)
	if err != nil {
		return nil, err
	}
	a := &ArrayScript{SlurmDir: filepath.Join(root, "slurm"), ShardDir: filepath.Join(root, "shards"), Binary: o.Binary,
		WorkDir: wd, Scale: o.Run.Resolve.Scale, Seeds: o.Run.Resolve.Seeds, DataDir: data, Resources: o.Resources}
	for _, s := range specs {
		if isSpecFile(s) {
			if s, err = filepath.Abs(s); err != nil {
				return nil, err
			}
		}
		a.Specs = append(a.Specs, s)
	}
	for _, r := range runs {
		a.RunIDs = append(a.RunIDs, r.ID)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	a.Name = fmt.Sprintf("%s-%s-%s", now.UTC().Format("20060102-150405"), nameOf(specs), a.Scale)
	return a, nil
}

// isSpecFile is experiments.Lookup's rule for a spec argument that names a file.
func isSpecFile(s string) bool {
	return strings.ContainsRune(s, os.PathSeparator) || strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml")
}

// nameOf makes a file-name part from the spec arguments: the first one's
// base name (letters, digits and '-' kept), "+N" more.
func nameOf(specs []string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(specs[0]), ".yaml"), ".yml")
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, base)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	if len(specs) > 1 {
		clean += fmt.Sprintf("+%d", len(specs)-1)
	}
	return clean
}

// jobIDSyntax is what `sbatch --parsable` prints: the job id, then
// ";cluster" on a federated or multi-cluster setup.
var jobIDSyntax = regexp.MustCompile(`^([0-9]+)(;\S+)?$`)

// sbatch submits the script from its directory and returns the job id.
func sbatch(ctx context.Context, command string, a *ArrayScript) (string, error) {
	if command == "" {
		command = "sbatch"
	}
	cmd := exec.CommandContext(ctx, command, "--parsable", a.ScriptPath())
	cmd.Dir = a.SlurmDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s --parsable %s: %v: %s", command, a.ScriptPath(), err, strings.TrimSpace(stderr.String()))
	}
	return parseSbatch(stdout.String())
}

// parseSbatch reads the job id from `sbatch --parsable` output.
func parseSbatch(out string) (string, error) {
	line := strings.TrimSpace(out)
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[i+1:])
	}
	m := jobIDSyntax.FindStringSubmatch(line)
	if m == nil {
		return "", fmt.Errorf("sbatch printed %q, want a job id", strings.TrimSpace(out))
	}
	return m[1], nil
}

// MergeOutcome is what Merge did with one shard.
type MergeOutcome struct {
	Report results.MergeReport
	Err    error // a bad shard (wraps results.ErrBadShard) or a failed merge
}

// Merge folds each shard into db (see results.MergeShard) and returns one
// outcome per shard. The error is non-nil when a shard was bad or could
// not be merged, or held a run that is not finished (a crashed or still
// running task: its rows are added but the run is not marked done); it
// lists every such shard. Merging the same shards again changes nothing.
func Merge(db *results.DB, shards []string) ([]MergeOutcome, error) {
	var out []MergeOutcome
	var problems []string
	for _, s := range shards {
		rep, err := results.MergeShard(db, s)
		out = append(out, MergeOutcome{Report: rep, Err: err})
		switch {
		case err != nil:
			problems = append(problems, err.Error())
		case len(rep.Runs) == 0:
			problems = append(problems, fmt.Sprintf("shard %s holds no run", s))
		default:
			for _, m := range rep.Incomplete() {
				problems = append(problems, fmt.Sprintf("shard %s: run %s (%s/%s) is %s, not finished", s, m.ID, m.Spec, m.Name, m.Status))
			}
		}
	}
	if len(problems) > 0 {
		return out, fmt.Errorf("%d problem(s) merging %d shard(s): %s", len(problems), len(shards), strings.Join(problems, "; "))
	}
	return out, nil
}

// Shards lists the shards of a results directory: <dir>/shards/*.db.
func Shards(resultsDir string) ([]string, error) {
	return filepath.Glob(filepath.Join(resultsDir, "shards", "*.db"))
}

// SlurmStates returns the Slurm state (PENDING, RUNNING, COMPLETED, ...) of
// each of jobIDs ("1234_5") that the cluster still knows: squeue's view of
// the user's recent jobs first, then sacct's for the rest. Where squeue or
// sacct is missing or fails (no cluster, accounting disabled), its answers
// are simply absent.
func SlurmStates(ctx context.Context, jobIDs []string) map[string]string {
	states := map[string]string{}
	if len(jobIDs) == 0 {
		return states
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "squeue", "--noheader", "--array", "--me", "--states=all", "--format=%i|%T").Output(); err == nil {
		for id, st := range ParseJobStates(string(out)) {
			states[id] = st
		}
	}
	var rest []string
	arrays := map[string]bool{}
	for _, id := range jobIDs {
		if _, ok := states[id]; !ok {
			rest = append(rest, id)
			arrays[strings.SplitN(id, "_", 2)[0]] = true
		}
	}
	if len(rest) == 0 {
		return states
	}
	var jobs []string
	for j := range arrays {
		if _, err := strconv.Atoi(j); err == nil {
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return states
	}
	if out, err := exec.CommandContext(ctx, "sacct", "--noheader", "--parsable2", "--allocations", "--format=JobID,State",
		"--jobs="+strings.Join(jobs, ",")).Output(); err == nil {
		for id, st := range ParseJobStates(string(out)) {
			if _, ok := states[id]; !ok {
				states[id] = st
			}
		}
	}
	return states
}

// ParseJobStates reads "JOBID|STATE" lines (squeue --format=%i|%T, sacct
// --parsable2 --format=JobID,State) into a map from job id to state. A
// state such as "CANCELLED by 1000" keeps its first word; an unexpanded
// array range ("1234_[3-9]") stands for each of its tasks and is expanded.
func ParseJobStates(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		id, state, ok := strings.Cut(strings.TrimSpace(line), "|")
		if !ok || id == "" || state == "" {
			continue
		}
		state = strings.Fields(state)[0]
		for _, t := range expandArray(id) {
			m[t] = state
		}
	}
	return m
}

// expandArray expands "1234_[0-2,5]" (a pending array's remaining tasks,
// possibly with a "%limit" suffix) into 1234_0, 1234_1, 1234_2, 1234_5;
// other ids are returned as they are.
func expandArray(id string) []string {
	job, rng, ok := strings.Cut(id, "_[")
	if !ok || !strings.HasSuffix(rng, "]") {
		return []string{id}
	}
	rng = strings.TrimSuffix(rng, "]")
	rng, _, _ = strings.Cut(rng, "%")
	var out []string
	for _, part := range strings.Split(rng, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || b < a || b-a > 100000 {
			return []string{id}
		}
		for i := a; i <= b; i++ {
			out = append(out, job+"_"+strconv.Itoa(i))
		}
	}
	return out
}
