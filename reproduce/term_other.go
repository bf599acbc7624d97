//go:build !linux

package reproduce

import "os"

// fileIsTerminal treats a character device as a terminal (a portable
// approximation; on Linux term_linux.go asks the terminal driver).
func fileIsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
