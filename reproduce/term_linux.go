package reproduce

import (
	"os"

	"golang.org/x/sys/unix"
)

// fileIsTerminal asks the terminal driver: only a terminal has termios
// settings (a character device such as /dev/null has none).
func fileIsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
