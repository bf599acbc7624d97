package reproduce

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/optim"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/netbuild"
	"github.com/resnet-repro/resnet-repro/results"
)

// velocityPrefix names the SGD velocity tensors inside a checkpoint.
const velocityPrefix = "optim.velocity."

// runCheckpoints is one run's checkpoints, the one place that finds,
// verifies, loads, saves, prunes and sweeps them: files
// ckpt-<iteration>.safetensors in <CheckpointDir>/<run id>/, each recorded
// with its SHA-256 in the database; the newest Env.Keep are kept.
type runCheckpoints struct {
	e   *Env
	j   *job
	dir string
	rec *results.Recorder
}

// checkpointsOf is the checkpoints of job j.
func (e *Env) checkpointsOf(j *job) *runCheckpoints {
	return &runCheckpoints{e: e, j: j, dir: filepath.Join(e.CheckpointDir, j.id), rec: e.DB.Recorder(j.id)}
}

// save writes the run's full training state atomically (a
// safetensors file: weights and BN statistics under their PyTorch names,
// the SGD velocity under optim.velocity.<name>, and the trainer state as
// JSON metadata), records it, and prunes old ones.
func (c *runCheckpoints) save(net *nn.Network[float32], opt *optim.SGD, st *trainerState) error {
	dir := c.dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	ts := netbuild.Tensors(net)
	for i, p := range net.Params() {
		ts = append(ts, tensor.NamedTensor{Name: velocityPrefix + p.Name, Tensor: &tensor.Tensor{Shape: p.Shape, Data: opt.Velocity[i]}})
	}
	meta, err := json.Marshal(st)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, fmt.Sprintf("ckpt-%08d.safetensors", st.Iteration))
	if err := tensor.WriteSafetensors(path, ts, map[string]string{"trainer_state": string(meta), "model": c.j.cfg.Model}); err != nil {
		return err
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	if err := c.rec.Checkpoint(st.Iteration, path, sum); err != nil {
		return err
	}
	c.prune()
	return nil
}

func fileSHA256(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:]), nil
}

// EventCheckpointRejected is the event of a checkpoint that failed
// verification on resume and was set aside (Detail: why, and where the file
// went).
const EventCheckpointRejected = "checkpoint_rejected"

// rejectedSuffix is appended to the file name of a checkpoint set aside.
const rejectedSuffix = ".rejected"

// resume restores the run's newest checkpoint that verifies: its file's
// SHA-256 is the one recorded when it was written (so its size and every
// bit are), it belongs to this run and holds the recorded iteration. A
// checkpoint that fails is reported, set aside (renamed with
// rejectedSuffix, its record deleted, an EventCheckpointRejected event
// added) and the previous one is tried. It returns false when the run has
// no checkpoint (a fresh start), and an error when every checkpoint was
// rejected: the next `repro run` then starts the run from its beginning.
func (c *runCheckpoints) resume(net *nn.Network[float32], opt *optim.SGD, st *trainerState) (bool, error) {
	cks, err := c.e.DB.Checkpoints(c.j.id)
	if err != nil || len(cks) == 0 {
		return false, err
	}
	var rejected []string
	for i := len(cks) - 1; i >= 0; i-- {
		ck := cks[i]
		err := verifyCheckpoint(ck)
		if err == nil {
			err = loadCheckpoint(ck.Path, net, opt, st)
		}
		if err == nil && int64(st.Iteration) != ck.Iteration {
			err = fmt.Errorf("it holds iteration %d, recorded as %d", st.Iteration, ck.Iteration)
		}
		if err == nil {
			if len(rejected) > 0 {
				c.e.logf("%s: resuming from the older checkpoint at iteration %d", c.j.label, ck.Iteration)
			}
			return true, nil
		}
		aside := ck.Path + rejectedSuffix
		if rerr := os.Rename(ck.Path, aside); rerr != nil {
			aside = "nowhere: " + rerr.Error()
		}
		if derr := c.e.DB.DeleteCheckpoint(c.j.id, ck.Iteration); derr != nil {
			return false, derr
		}
		c.e.event(c.j.id, int(ck.Iteration), EventCheckpointRejected, fmt.Sprintf("%v; set aside as %s", err, aside))
		c.e.logf("%s: checkpoint at iteration %d rejected: %v (set aside as %s)", c.j.label, ck.Iteration, err, aside)
		rejected = append(rejected, fmt.Sprintf("iteration %d: %v", ck.Iteration, err))
	}
	return false, fmt.Errorf("%s: no valid checkpoint left (%d rejected: %s); `repro run` again trains it from its start",
		c.j.label, len(rejected), strings.Join(rejected, "; "))
}

// verifyCheckpoint checks that a checkpoint's file is the one written: its
// SHA-256 equals the recorded one.
func verifyCheckpoint(ck results.Checkpoint) error {
	sum, err := fileSHA256(ck.Path)
	if err != nil {
		return err
	}
	if sum != ck.SHA256 {
		return fmt.Errorf("%s: SHA-256 %s, recorded %s (the file changed after it was written)", ck.Path, sum[:12], shortHash(ck.SHA256))
	}
	return nil
}

// shortHash is the first 12 hex digits of a recorded hash (all of a
// shorter one).
func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// loadCheckpoint restores weights, BN statistics, velocity and trainer state.
func loadCheckpoint(path string, net *nn.Network[float32], opt *optim.SGD, st *trainerState) error {
	ts, meta, err := tensor.ReadSafetensors(path)
	if err != nil {
		return err
	}
	var saved trainerState
	if err := json.Unmarshal([]byte(meta["trainer_state"]), &saved); err != nil {
		return fmt.Errorf("%s: bad trainer state: %v", path, err)
	}
	if saved.RunID != st.RunID {
		return fmt.Errorf("%s belongs to run %s, not %s", path, saved.RunID, st.RunID)
	}
	weights := map[string]*tensor.Tensor{}
	vel := make([][]float32, len(net.Params()))
	for name, t := range ts {
		if len(name) > len(velocityPrefix) && name[:len(velocityPrefix)] == velocityPrefix {
			continue
		}
		weights[name] = t
	}
	if err := netbuild.LoadTensors(net, weights, path); err != nil {
		return err
	}
	for i, p := range net.Params() {
		t, ok := ts[velocityPrefix+p.Name]
		if !ok {
			return fmt.Errorf("%s: missing optimizer state for %s", path, p.Name)
		}
		vel[i] = t.Data
	}
	if err := opt.SetVelocity(vel); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// The warm-up window's size is the recipe's (checkpoints written
	// before the schedule held the window lack it), and an old
	// checkpoint's window moves into the schedule.
	saved.Schedule.WarmupWindow = st.Schedule.WarmupWindow
	if len(saved.Window) > 0 && len(saved.Schedule.WarmupRecent) == 0 {
		saved.Schedule.WarmupRecent = saved.Window
	}
	saved.Window = nil
	*st = saved
	return nil
}

// prune keeps the newest Keep checkpoint files of a run.
func (c *runCheckpoints) prune() {
	cks, err := c.e.DB.Checkpoints(c.j.id)
	if err != nil {
		return
	}
	sort.Slice(cks, func(a, b int) bool { return cks[a].Iteration > cks[b].Iteration })
	for _, ck := range cks[min(len(cks), c.e.Keep):] {
		// The record goes first: a kill in between leaves an unrecorded
		// file (swept at the next start), never a record of a missing file.
		if c.e.DB.DeleteCheckpoint(c.j.id, ck.Iteration) == nil {
			os.Remove(ck.Path)
		}
	}
}

// sweep removes what kills leave in a run's checkpoint folder
// (issue 19): temporary files of interrupted atomic writes
// (.ckpt-*.tmp*, a whole checkpoint each) and checkpoint files no record
// names (a kill between pruning's record and file deletion). Set-aside
// (*.rejected) files are kept for inspection. The caller holds the run's
// lease, so no other process writes there.
func (c *runCheckpoints) sweep() {
	dir := c.dir
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cks, err := c.e.DB.Checkpoints(c.j.id)
	if err != nil {
		return
	}
	recorded := map[string]bool{}
	for _, ck := range cks {
		recorded[filepath.Clean(ck.Path)] = true
	}
	for _, en := range entries {
		name, path := en.Name(), filepath.Join(dir, en.Name())
		temp := strings.HasPrefix(name, ".ckpt-") && strings.Contains(name, ".tmp")
		orphan := strings.HasPrefix(name, "ckpt-") && strings.HasSuffix(name, ".safetensors") && !recorded[filepath.Clean(path)]
		if en.Type().IsRegular() && (temp || orphan) {
			if os.Remove(path) == nil {
				c.e.logf("%s: removed %s, left by an interrupted run", c.j.label, path)
			}
		}
	}
}
