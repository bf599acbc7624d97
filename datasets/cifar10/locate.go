package cifar10

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DataDirEnv names the environment variable that sets the data directory.
const DataDirEnv = "REPRO_DATA"

// DefaultDataDir is the data directory when neither --data nor $REPRO_DATA
// is given.
const DefaultDataDir = "./data"

// DataDir resolves the data directory: flag (the --data value) if set, else
// $REPRO_DATA if set, else ./data. The directory holds cifar10/ (and
// imagenet/).
func DataDir(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(DataDirEnv); env != "" {
		return env
	}
	return DefaultDataDir
}

// ErrNotFound is wrapped by Locate's error when the data directory holds no
// CIFAR-10.
var ErrNotFound = errors.New("CIFAR-10 not found")

// Locate returns where CIFAR-10 lies under dataDir: the extracted folder
// dataDir/cifar10/cifar-10-batches-bin if present, else the archive
// dataDir/cifar10/cifar-10-binary.tar.gz. It only looks; Load checks the
// contents. When neither is there the error (wrapping ErrNotFound) tells
// the user how to point at a local copy.
func Locate(dataDir string) (string, error) {
	dir := filepath.Join(dataDir, "cifar10")
	if p := filepath.Join(dir, BatchesDir); dirExists(p) {
		return p, nil
	}
	if p := filepath.Join(dir, ArchiveName); fileExists(p) {
		return p, nil
	}
	return "", fmt.Errorf("%w in %s (looked for %s/ and %s there); "+
		"point at a folder holding cifar10/ with --data DIR or %s=DIR, "+
		"import a local copy with `repro data fetch cifar10 --from FILE`, "+
		"or download it with `repro data fetch cifar10`",
		ErrNotFound, dir, BatchesDir, ArchiveName, DataDirEnv)
}
