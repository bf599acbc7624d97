package cifar10

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Stats summarizes a split: what `repro data verify cifar10` prints.
type Stats struct {
	Name     string
	Images   int
	PerClass [NumClasses]int
	// Mean is the per-channel mean pixel (R, G, B) on the 0-255 scale.
	Mean [Channels]float64
}

// SplitStats counts s's images per class and averages each channel.
func SplitStats(s *Split) Stats {
	st := Stats{Name: s.Name(), Images: s.Len()}
	var sum [Channels]uint64
	const plane = Height * Width
	for i := 0; i < s.Len(); i++ {
		st.PerClass[s.Label(i)]++
		img := s.Image(i)
		for c := range Channels {
			var t uint64
			for _, p := range img[c*plane : (c+1)*plane] {
				t += uint64(p)
			}
			sum[c] += t
		}
	}
	if s.Len() > 0 {
		for c := range Channels {
			st.Mean[c] = float64(sum[c]) / float64(s.Len()*plane)
		}
	}
	return st
}

// WriteStats prints a table of images per split and class, then each
// split's per-channel means.
func WriteStats(w io.Writer, stats ...Stats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	names := ClassNames()
	fmt.Fprintf(tw, "split\timages\t%s\t\n", strings.Join(names[:], "\t"))
	for _, st := range stats {
		fmt.Fprintf(tw, "%s\t%d\t", st.Name, st.Images)
		for _, n := range st.PerClass {
			fmt.Fprintf(tw, "%d\t", n)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, st := range stats {
		if _, err := fmt.Fprintf(w, "%s mean (0-255): R %.2f G %.2f B %.2f\n", st.Name, st.Mean[0], st.Mean[1], st.Mean[2]); err != nil {
			return err
		}
	}
	return nil
}
