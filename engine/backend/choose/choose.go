// Package choose picks the engine's backend by name, once, at model build
// (design: "Backend choice is made once"). It is the only package that
// imports both the reference and the oneDNN backend, so that building
// without cgo (or with -tags noonednn) still gives a working engine.
package choose

import (
	"fmt"
	"strings"

	"github.com/resnet-repro/resnet-repro/engine/backend"
)

// Names lists the accepted backend names, "auto" first.
var Names = []string{"auto", "onednn", "reference"}

// New returns the backend called name with the given compute thread count
// (<= 0: all CPUs): "reference" is the pure-Go backend, "onednn" the
// oneDNN one (an error if it was not built in), and "auto" (or "") is
// onednn when built in, else reference. The caller must Close it.
func New(name string, threads int) (backend.Backend, error) {
	switch strings.ToLower(name) {
	case "", "auto":
		if OneDNNBuiltIn {
			return newOneDNN(threads)
		}
		return backend.Reference(threads), nil
	case "reference":
		return backend.Reference(threads), nil
	case "onednn":
		if !OneDNNBuiltIn {
			return nil, fmt.Errorf("backend %q is not built into this binary (needs cgo and libdnnl-dev; built with -tags noonednn or CGO_ENABLED=0)", name)
		}
		return newOneDNN(threads)
	}
	return nil, fmt.Errorf("unknown backend %q (want one of %s)", name, strings.Join(Names, ", "))
}
