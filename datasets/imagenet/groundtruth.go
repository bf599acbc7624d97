package imagenet

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// SynsetMap maps the devkit's 1-based ILSVRC2012_ID (the numbers in
// ILSVRC2012_validation_ground_truth.txt) to wnids. In ILSVRC-2012 these ids
// are NOT sorted wnid order: id 1 is n02119789 (kit fox).
type SynsetMap map[int]string

// LoadSynsetMap reads a text synset map. Accepted formats, one synset a line:
//
//   - "wnid id [name]": the id is given (map_clsloc.txt from the ILSVRC
//     devkit, e.g. "n02119789 1 kit_fox");
//   - "wnid [name...]": line i (1-based, blank lines not counted) is id i,
//     e.g. the devkit's meta.mat synsets(1:1000).WNID written out one a line.
//
// The devkit's MATLAB meta.mat itself is not read; export it to one of these.
// A second-format file that lists all 1000 ILSVRC-2012 classes in sorted
// wnid order is rejected: that is Caffe's synsets.txt/synset_words.txt, the
// class-index order, not ILSVRC2012_ID order, and would silently mislabel
// every image. Errors name the file and line.
func LoadSynsetMap(path string) (SynsetMap, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imagenet: synset map: %w", err)
	}
	defer f.Close()
	m := SynsetMap{}
	seen := map[string]int{}
	var order []string
	explicit := -1 // unknown until the first line
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		wnid := fields[0]
		if !wnidPattern.MatchString(wnid) {
			return nil, fmt.Errorf("imagenet: %s:%d: %q is not a wnid", path, line, wnid)
		}
		hasID := false
		id := len(order) + 1
		if len(fields) > 1 {
			if v, err := strconv.Atoi(fields[1]); err == nil {
				hasID, id = true, v
			}
		}
		if explicit == -1 {
			explicit = map[bool]int{false: 0, true: 1}[hasID]
		} else if hasID != (explicit == 1) {
			return nil, fmt.Errorf("imagenet: %s:%d: mixes \"wnid id\" and \"wnid\" lines", path, line)
		}
		if id < 1 {
			return nil, fmt.Errorf("imagenet: %s:%d: ILSVRC2012_ID %d is not positive", path, line, id)
		}
		if _, dup := m[id]; dup {
			return nil, fmt.Errorf("imagenet: %s:%d: ILSVRC2012_ID %d given twice", path, line, id)
		}
		if prev, dup := seen[wnid]; dup {
			return nil, fmt.Errorf("imagenet: %s:%d: wnid %s already on line %d", path, line, wnid, prev)
		}
		seen[wnid] = line
		m[id] = wnid
		order = append(order, wnid)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("imagenet: %s: %w", path, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("imagenet: %s: empty synset map", path)
	}
	if explicit == 0 && len(order) == 1000 && sort.StringsAreSorted(order) {
		return nil, fmt.Errorf("imagenet: %s: lists the 1000 wnids in sorted order, which is the class-index order (Caffe's synsets.txt), not the devkit's ILSVRC2012_ID order; use the devkit's map_clsloc.txt (\"wnid id name\")", path)
	}
	return m, nil
}

// gtEntry is one labelled validation file of a ground-truth file.
type gtEntry struct {
	file string // base name in val/
	wnid string
	line int
}

// groundTruth labels a flat val/ folder.
type groundTruth struct {
	path    string
	entries []gtEntry
	classes *ClassList // the synset map's wnids (devkit only), as a fallback class list
}

func loadGroundTruth(root, valDir string, opt Options) (*groundTruth, error) {
	path := opt.GroundTruth
	if path == "" {
		path = firstExisting(root, defaultGroundTruths)
	}
	if path == "" {
		return nil, fmt.Errorf("imagenet: %s is a flat folder of images but no ground truth was found (looked for %s under %s); give one with the ground-truth option",
			valDir, strings.Join(defaultGroundTruths, ", "), root)
	}
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return loadLOCSolution(path)
	}
	mapPath := opt.SynsetMap
	if mapPath == "" {
		mapPath = firstExisting(root, defaultSynsetMaps)
	}
	if mapPath == "" {
		return nil, fmt.Errorf("imagenet: ground truth %s holds ILSVRC2012_IDs and needs a synset map (looked for %s under %s)",
			path, strings.Join(defaultSynsetMaps, ", "), root)
	}
	sm, err := LoadSynsetMap(mapPath)
	if err != nil {
		return nil, err
	}
	return loadDevkitGroundTruth(path, sm)
}

// loadDevkitGroundTruth reads ILSVRC2012_validation_ground_truth.txt: line i
// holds the ILSVRC2012_ID of ILSVRC2012_val_<i as 8 digits>.JPEG.
func loadDevkitGroundTruth(path string, sm SynsetMap) (*groundTruth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imagenet: ground truth: %w", err)
	}
	defer f.Close()
	gt := &groundTruth{path: path}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		id, err := strconv.Atoi(text)
		if err != nil {
			return nil, fmt.Errorf("imagenet: %s:%d: %q is not an ILSVRC2012_ID", path, line, text)
		}
		wnid, ok := sm[id]
		if !ok {
			return nil, fmt.Errorf("imagenet: %s:%d: ILSVRC2012_ID %d is not in the synset map", path, line, id)
		}
		gt.entries = append(gt.entries, gtEntry{file: fmt.Sprintf("ILSVRC2012_val_%08d.JPEG", line), wnid: wnid, line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("imagenet: %s: %w", path, err)
	}
	wnids := make([]string, 0, len(sm))
	for _, w := range sm {
		wnids = append(wnids, w)
	}
	if gt.classes, err = classListFromDirs(wnids); err != nil {
		return nil, err
	}
	return gt, nil
}

// loadLOCSolution reads Kaggle's LOC_val_solution.csv: a header
// "ImageId,PredictionString", then rows "ILSVRC2012_val_00008726,n02119789 255
// 142 454 329 ..." whose first word is the image's wnid (the rest are boxes).
func loadLOCSolution(path string) (*groundTruth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imagenet: ground truth: %w", err)
	}
	defer f.Close()
	gt := &groundTruth{path: path}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			if !strings.HasPrefix(text, "ImageId,PredictionString") {
				return nil, fmt.Errorf("imagenet: %s:1: want header ImageId,PredictionString, got %q", path, text)
			}
			continue
		}
		if text == "" {
			continue
		}
		id, pred, ok := strings.Cut(text, ",")
		words := strings.Fields(pred)
		if !ok || id == "" || len(words) == 0 {
			return nil, fmt.Errorf("imagenet: %s:%d: want ImageId,wnid ..., got %q", path, line, text)
		}
		if !wnidPattern.MatchString(words[0]) {
			return nil, fmt.Errorf("imagenet: %s:%d: %q is not a wnid", path, line, words[0])
		}
		gt.entries = append(gt.entries, gtEntry{file: id + ".JPEG", wnid: words[0], line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("imagenet: %s: %w", path, err)
	}
	return gt, nil
}

// split matches the ground truth with the files of a flat val/ folder: every
// listed file must be present and every present file listed.
func (gt *groundTruth) split(valDir string, files []string, classes *ClassList) (*Split, error) {
	present := make(map[string]bool, len(files))
	for _, f := range files {
		present[f] = false
	}
	s := &Split{Name: "val", Dir: valDir}
	for _, e := range gt.entries {
		used, ok := present[e.file]
		if !ok {
			return nil, fmt.Errorf("imagenet: %s:%d: lists %s, which is absent", gt.path, e.line, filepath.Join(valDir, e.file))
		}
		if used {
			return nil, fmt.Errorf("imagenet: %s:%d: lists %s a second time", gt.path, e.line, e.file)
		}
		present[e.file] = true
		label, ok := classes.Index(e.wnid)
		if !ok {
			return nil, fmt.Errorf("imagenet: %s:%d: wnid %s is not in the class list (%d classes)", gt.path, e.line, e.wnid, classes.Len())
		}
		s.Items = append(s.Items, Item{Path: filepath.Join(valDir, e.file), Label: label})
	}
	for _, f := range files {
		if !present[f] {
			return nil, fmt.Errorf("imagenet: %s has no ground truth in %s", filepath.Join(valDir, f), gt.path)
		}
	}
	sort.Slice(s.Items, func(i, j int) bool { return s.Items[i].Path < s.Items[j].Path })
	return s, nil
}
