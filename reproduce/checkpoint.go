package reproduce

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/resnet-repro/resnet-repro/engine/nn"
	"github.com/resnet-repro/resnet-repro/engine/optim"
	"github.com/resnet-repro/resnet-repro/engine/tensor"
	"github.com/resnet-repro/resnet-repro/models"
	"github.com/resnet-repro/resnet-repro/results"
)

// velocityPrefix names the SGD velocity tensors inside a checkpoint.
const velocityPrefix = "optim.velocity."

// checkpoint writes the run's full training state atomically (a
// safetensors file: weights and BN statistics under their PyTorch names,
// the SGD velocity under optim.velocity.<name>, and the trainer state as
// JSON metadata), records it, and prunes old ones.
func (e *Env) checkpoint(j *job, net *nn.Network[float32], opt *optim.SGD, st *trainerState) error {
	dir := filepath.Join(e.CheckpointDir, j.id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint directory: %w", err)
	}
	ts := models.Tensors(net)
	for i, p := range net.Params() {
		ts = append(ts, tensor.NamedTensor{Name: velocityPrefix + p.Name, Tensor: &tensor.Tensor{Shape: p.Shape, Data: opt.Velocity[i]}})
	}
	meta, err := json.Marshal(st)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, fmt.Sprintf("ckpt-%08d.safetensors", st.Iteration))
	if err := tensor.WriteSafetensors(path, ts, map[string]string{"trainer_state": string(meta), "model": j.cfg.Model}); err != nil {
		return err
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	if err := e.DB.AddCheckpoint(results.Checkpoint{RunID: j.id, Iteration: int64(st.Iteration), Path: path, SHA256: sum}); err != nil {
		return err
	}
	e.pruneCheckpoints(j.id)
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
	if err := models.LoadTensors(net, weights, path); err != nil {
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
	*st = saved
	return nil
}
