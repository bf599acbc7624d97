package imagenet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Item is one labelled image file.
type Item struct {
	Path  string // file path (root joined with the relative path)
	Label int    // class index in the dataset's ClassList
}

// Split is the ordered list of a split's images. Train items are ordered
// by (label, file name); validation items by file name (flat layout) or by
// (label, file name) (folder layout).
type Split struct {
	Name  string // "train" or "val"
	Dir   string // the split's folder
	Items []Item
}

// Len is the number of images.
func (s *Split) Len() int { return len(s.Items) }

// Dataset is an ILSVRC-2012 folder as a user has it. Train or Val is nil
// when the folder lacks that split.
type Dataset struct {
	Root    string
	Classes *ClassList
	Train   *Split
	Val     *Split
}

// Options override what Open finds by itself. Empty fields mean "look in
// the usual places" (see Open).
type Options struct {
	// ClassList is a class list file (see LoadClassList).
	ClassList string
	// GroundTruth labels a flat val/ folder: either the devkit's
	// ILSVRC2012_validation_ground_truth.txt or Kaggle's LOC_val_solution.csv
	// (told apart by the .csv extension).
	GroundTruth string
	// SynsetMap maps the devkit ground truth's 1-based ILSVRC2012_IDs to
	// wnids (see LoadSynsetMap).
	SynsetMap string
}

// Default places Open looks in, relative to the root, in order.
var (
	defaultClassLists   = []string{"classes.tsv", "LOC_synset_mapping.txt"}
	defaultGroundTruths = []string{
		"LOC_val_solution.csv",
		"ILSVRC2012_validation_ground_truth.txt",
		"ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt",
	}
	defaultSynsetMaps = []string{
		"map_clsloc.txt",
		"synsets.txt",
		"ILSVRC2012_devkit_t12/data/map_clsloc.txt",
	}
)

// Open reads the ILSVRC-2012 layout under root:
//
//	train/<wnid>/*.JPEG
//	val/<wnid>/*.JPEG                     (folder layout), or
//	val/*.JPEG + a ground-truth file      (flat layout, as the devkit ships it)
//
// Image files are those ending in .JPEG, .jpeg, .jpg or .png (any case);
// other files are ignored. The class index is sorted wnid order, taken from
// the first of: opt.ClassList; root/classes.tsv or root/LOC_synset_mapping.txt;
// the train/ folders; the val/ folders; the synset map of a flat val/.
// Every wnid folder and ground-truth label must be in the class list.
// A flat val/ needs a ground truth (opt.GroundTruth, else the first of
// LOC_val_solution.csv, ILSVRC2012_validation_ground_truth.txt,
// ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt under
// root); the devkit text also needs a synset map (opt.SynsetMap, else the
// first of map_clsloc.txt, synsets.txt, ILSVRC2012_devkit_t12/data/map_clsloc.txt).
// Open only lists files; it does not decode them. Errors name the file.
func Open(root string, opt Options) (*Dataset, error) {
	ds := &Dataset{Root: root}
	trainDir := filepath.Join(root, "train")
	valDir := filepath.Join(root, "val")
	trainWnids, _, err := listDir(trainDir)
	if err != nil {
		return nil, err
	}
	valWnids, valFiles, err := listDir(valDir)
	if err != nil {
		return nil, err
	}
	haveTrain := trainWnids != nil
	haveVal := valWnids != nil || valFiles != nil
	if !haveTrain && !haveVal {
		return nil, fmt.Errorf("imagenet: %s has neither train/ nor val/ (want the ILSVRC-2012 layout train/<wnid>/*.JPEG, val/)", root)
	}
	if len(valWnids) > 0 && len(valFiles) > 0 {
		return nil, fmt.Errorf("imagenet: %s holds both wnid folders and %d loose images (e.g. %s); use one layout", valDir, len(valFiles), valFiles[0])
	}
	flatVal := len(valFiles) > 0

	// The ground truth of a flat val/ is read first: its synset map may be
	// the only source of the class list.
	var gt *groundTruth
	if flatVal {
		gt, err = loadGroundTruth(root, valDir, opt)
		if err != nil {
			return nil, err
		}
	}

	classFile := opt.ClassList
	if classFile == "" {
		classFile = firstExisting(root, defaultClassLists)
	}
	switch {
	case classFile != "":
		ds.Classes, err = LoadClassList(classFile)
	case len(trainWnids) > 0:
		ds.Classes, err = classListFromDirs(trainWnids)
	case len(valWnids) > 0:
		ds.Classes, err = classListFromDirs(valWnids)
	case gt != nil && gt.classes != nil:
		ds.Classes = gt.classes
	default:
		err = fmt.Errorf("imagenet: %s: no class list: give one (classes.tsv, LOC_synset_mapping.txt) or a train/ folder", root)
	}
	if err != nil {
		return nil, err
	}

	if haveTrain {
		if ds.Train, err = folderSplit("train", trainDir, trainWnids, ds.Classes); err != nil {
			return nil, err
		}
	}
	if haveVal {
		if flatVal {
			ds.Val, err = gt.split(valDir, valFiles, ds.Classes)
		} else {
			ds.Val, err = folderSplit("val", valDir, valWnids, ds.Classes)
		}
		if err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// isImageName reports whether a file name has an image extension.
func isImageName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpeg", ".jpg", ".png":
		return !strings.HasPrefix(name, ".")
	}
	return false
}

// listDir lists a split folder: its sub-folders (wnids) and its loose image
// files, both sorted. A missing folder gives (nil, nil, nil).
func listDir(dir string) (dirs, files []string, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("imagenet: %w", err)
	}
	dirs, files = []string{}, []string{}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && !strings.HasPrefix(name, "."):
			dirs = append(dirs, name)
		case !e.IsDir() && isImageName(name):
			files = append(files, name)
		}
	}
	sort.Strings(dirs)
	sort.Strings(files)
	return dirs, files, nil
}

// folderSplit lists dir/<wnid>/*.JPEG.
func folderSplit(name, dir string, wnids []string, classes *ClassList) (*Split, error) {
	s := &Split{Name: name, Dir: dir}
	for _, w := range wnids {
		sub := filepath.Join(dir, w)
		label, ok := classes.Index(w)
		if !ok {
			return nil, fmt.Errorf("imagenet: %s: folder name %q is not a wnid of the class list (%d classes)", sub, w, classes.Len())
		}
		_, files, err := listDir(sub)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			s.Items = append(s.Items, Item{Path: filepath.Join(sub, f), Label: label})
		}
	}
	if len(s.Items) == 0 {
		return nil, fmt.Errorf("imagenet: %s: no images (want %s/<wnid>/*.JPEG)", dir, dir)
	}
	sort.SliceStable(s.Items, func(i, j int) bool { return s.Items[i].Label < s.Items[j].Label })
	return s, nil
}

// firstExisting returns root/c for the first candidate c that exists, or "".
func firstExisting(root string, candidates []string) string {
	for _, c := range candidates {
		p := filepath.Join(root, c)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
