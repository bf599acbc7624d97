package imagenet

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// wnidPattern matches a WordNet synset id as ILSVRC uses them ("n01440764").
var wnidPattern = regexp.MustCompile(`^n[0-9]{8}$`)

// ClassList is the class index: class i is Wnids[i]. Wnids are in
// ascending order, which for ILSVRC-2012 is the standard 1000-class index
// (0 = n01440764 tench, ..., 999 = n15075141 toilet tissue).
type ClassList struct {
	Wnids []string
	Names []string // short human-readable names; "" where unknown
	index map[string]int
}

// NewClassList builds a class list from wnids in strictly ascending order.
// names may be nil; otherwise it has one entry per wnid.
func NewClassList(wnids, names []string) (*ClassList, error) {
	if names == nil {
		names = make([]string, len(wnids))
	}
	if len(names) != len(wnids) {
		return nil, fmt.Errorf("imagenet: %d class names for %d wnids", len(names), len(wnids))
	}
	c := &ClassList{Wnids: wnids, Names: names, index: make(map[string]int, len(wnids))}
	for i, w := range wnids {
		if !wnidPattern.MatchString(w) {
			return nil, fmt.Errorf("imagenet: class %d: %q is not a wnid (n followed by 8 digits)", i, w)
		}
		if i > 0 && wnids[i-1] >= w {
			return nil, fmt.Errorf("imagenet: class %d: wnid %s does not follow %s in sorted order", i, w, wnids[i-1])
		}
		c.index[w] = i
	}
	return c, nil
}

// Len is the number of classes.
func (c *ClassList) Len() int { return len(c.Wnids) }

// Index returns the class index of wnid.
func (c *ClassList) Index(wnid string) (int, bool) {
	i, ok := c.index[wnid]
	return i, ok
}

// LoadClassList reads a class list file. Two formats are accepted:
//
//   - the shared sample's classes.tsv: a header line starting "index<TAB>wnid",
//     then "index<TAB>wnid<TAB>name[<TAB>...]" rows whose index counts 0, 1, 2, ...;
//   - one class per line, "wnid[ name...]" (e.g. Kaggle's
//     LOC_synset_mapping.txt, "n01440764 tench, Tinca tinca").
//
// Either way the wnids must be in ascending order, so that the file's row
// number is the class index; errors name the file and line.
func LoadClassList(path string) (*ClassList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imagenet: class list: %w", err)
	}
	defer f.Close()
	var wnids, names []string
	sc := bufio.NewScanner(f)
	line := 0
	tsv := false
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 && strings.HasPrefix(text, "index\twnid") {
			tsv = true
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		var wnid, name string
		if tsv {
			fields := strings.Split(text, "\t")
			if len(fields) < 3 {
				return nil, fmt.Errorf("imagenet: %s:%d: want index<TAB>wnid<TAB>name, got %q", path, line, text)
			}
			if fields[0] != fmt.Sprint(len(wnids)) {
				return nil, fmt.Errorf("imagenet: %s:%d: index %q, want %d (rows must count up from 0)", path, line, fields[0], len(wnids))
			}
			wnid, name = fields[1], fields[2]
		} else {
			wnid, name, _ = strings.Cut(strings.TrimSpace(text), " ")
			name = strings.TrimSpace(name)
		}
		if !wnidPattern.MatchString(wnid) {
			return nil, fmt.Errorf("imagenet: %s:%d: %q is not a wnid", path, line, wnid)
		}
		if n := len(wnids); n > 0 && wnids[n-1] >= wnid {
			return nil, fmt.Errorf("imagenet: %s:%d: wnid %s does not follow %s in sorted order (class index order is sorted wnid order)", path, line, wnid, wnids[n-1])
		}
		wnids = append(wnids, wnid)
		names = append(names, name)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("imagenet: %s: %w", path, err)
	}
	if len(wnids) == 0 {
		return nil, fmt.Errorf("imagenet: %s: no classes", path)
	}
	return NewClassList(wnids, names)
}

// classListFromDirs makes the class list of the sorted wnid folder names.
func classListFromDirs(dirs []string) (*ClassList, error) {
	w := append([]string(nil), dirs...)
	sort.Strings(w)
	return NewClassList(w, nil)
}
