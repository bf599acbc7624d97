package imagenet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenSample reads the shared sample: val/<wnid>/ with 104 of the 1000
// classes, labels from classes.tsv. README.md: the included classes are
// every tenth class of the 1000-class index plus 402, 438, 562, 634, one
// image each, and index 0 is n01440764 tench.
func TestOpenSample(t *testing.T) {
	root := requireSample(t)
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Classes.Len() != 1000 || ds.Train != nil || ds.Val == nil || ds.Val.Len() != 104 {
		t.Fatalf("classes %d, train %v, val %v: want 1000 classes, no train, 104 val images", ds.Classes.Len(), ds.Train, ds.Val)
	}
	if ds.Classes.Wnids[0] != "n01440764" || ds.Classes.Names[0] != "tench" {
		t.Fatalf("class 0 = %s %s, want n01440764 tench", ds.Classes.Wnids[0], ds.Classes.Names[0])
	}
	extra := map[int]bool{402: true, 438: true, 562: true, 634: true}
	seen := map[int]bool{}
	for _, it := range ds.Val.Items {
		wnid := filepath.Base(filepath.Dir(it.Path))
		if ds.Classes.Wnids[it.Label] != wnid {
			t.Errorf("%s: label %d is %s", it.Path, it.Label, ds.Classes.Wnids[it.Label])
		}
		if it.Label%10 != 0 && !extra[it.Label] {
			t.Errorf("%s: label %d is neither a multiple of 10 nor one of README's four extras", it.Path, it.Label)
		}
		seen[it.Label] = true
	}
	if len(seen) != 104 {
		t.Errorf("%d distinct labels, want 104", len(seen))
	}
}

func TestOpenTrainTree(t *testing.T) {
	root := fixtureTree(t)
	ds, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Val != nil || ds.Train.Len() != 12 || strings.Join(ds.Classes.Wnids, ",") != strings.Join(fixtureWnids, ",") {
		t.Fatalf("val %v, train %d, classes %v", ds.Val, ds.Train.Len(), ds.Classes.Wnids)
	}
	for i, it := range ds.Train.Items {
		// fixtureTree writes 4 images per class, classes in sorted order.
		if it.Label != i/4 || !strings.Contains(it.Path, fixtureWnids[i/4]) {
			t.Errorf("item %d: %s label %d, want label %d", i, it.Path, it.Label, i/4)
		}
	}
}

// The flat-val fixtures: 5 images, true classes (sorted-wnid index) below.
// The devkit's ILSVRC2012_IDs are deliberately not in sorted wnid order, as
// in the real devkit: id 1 = n01484850 (class 2), 2 = n01440764 (class 0),
// 3 = n01443537 (class 1).
var (
	flatLabels  = []int{0, 2, 1, 1, 0}
	mapClsloc   = "n01484850 1 great_white_shark\nn01440764 2 tench\nn01443537 3 goldfish\n"
	classToID   = []int{2, 3, 1}
	devkitTruth = func() string {
		var b strings.Builder
		for _, l := range flatLabels {
			fmt.Fprintf(&b, "%d\n", classToID[l])
		}
		return b.String()
	}()
	locSolution = func() string {
		// Rows out of order and with boxes after the wnid, as Kaggle ships it.
		b := "ImageId,PredictionString\n"
		for _, i := range []int{3, 1, 5, 2, 4} {
			w := fixtureWnids[flatLabels[i-1]]
			b += fmt.Sprintf("ILSVRC2012_val_%08d,%s 10 20 30 40 %s 1 2 3 4\n", i, w, w)
		}
		return b
	}()
)

// flatValRoot writes a flat val/ of five images (one a PNG named .JPEG)
// beside fixtureTree's train/ (when withTrain) and returns the root.
func flatValRoot(t *testing.T, withTrain bool) string {
	t.Helper()
	root := t.TempDir()
	if withTrain {
		root = fixtureTree(t)
	}
	for i := 1; i <= len(flatLabels); i++ {
		data := encodeJPEG(t, gradientRGB(30+i, 40))
		if i == 4 {
			data = encodePNG(t, gradientRGB(30+i, 40))
		}
		writeFile(t, root, fmt.Sprintf("val/ILSVRC2012_val_%08d.JPEG", i), data)
	}
	return root
}

func TestOpenFlatVal(t *testing.T) {
	cases := []struct {
		name      string
		withTrain bool
		files     map[string]string // rel path -> content
		opt       func(root string) Options
	}{
		{"devkit truth and map_clsloc", true, map[string]string{
			"ILSVRC2012_validation_ground_truth.txt": devkitTruth, "map_clsloc.txt": mapClsloc}, nil},
		{"devkit folder layout, no train (classes from the map)", false, map[string]string{
			"ILSVRC2012_devkit_t12/data/ILSVRC2012_validation_ground_truth.txt": devkitTruth,
			"ILSVRC2012_devkit_t12/data/map_clsloc.txt":                         mapClsloc}, nil},
		{"devkit truth with a plain wnid list in ILSVRC2012_ID order", true, map[string]string{
			"gt.txt": devkitTruth, "ids.txt": "n01484850\nn01440764 tench\nn01443537\n"},
			func(root string) Options {
				return Options{GroundTruth: filepath.Join(root, "gt.txt"), SynsetMap: filepath.Join(root, "ids.txt")}
			}},
		{"LOC_val_solution.csv", true, map[string]string{"LOC_val_solution.csv": locSolution}, nil},
		{"LOC csv with a class list file", false, map[string]string{
			"LOC_val_solution.csv":   locSolution,
			"LOC_synset_mapping.txt": "n01440764 tench, Tinca tinca\nn01443537 goldfish\nn01484850 great white shark\n"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := flatValRoot(t, c.withTrain)
			for rel, content := range c.files {
				writeFile(t, root, rel, []byte(content))
			}
			opt := Options{}
			if c.opt != nil {
				opt = c.opt(root)
			}
			ds, err := Open(root, opt)
			if err != nil {
				t.Fatal(err)
			}
			if ds.Classes.Len() != 3 || ds.Val.Len() != len(flatLabels) {
				t.Fatalf("%d classes, %d val images; want 3, %d", ds.Classes.Len(), ds.Val.Len(), len(flatLabels))
			}
			for i, it := range ds.Val.Items {
				want := fmt.Sprintf("ILSVRC2012_val_%08d.JPEG", i+1)
				if filepath.Base(it.Path) != want || it.Label != flatLabels[i] {
					t.Errorf("item %d: %s label %d, want %s label %d", i, it.Path, it.Label, want, flatLabels[i])
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	sorted1000 := func() string {
		var b strings.Builder
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(&b, "n%08d\n", 1000000+i)
		}
		return b.String()
	}()
	cases := []struct {
		name  string
		setup func(t *testing.T) (root string, opt Options)
		want  []string // substrings of the error
	}{
		{"empty root", func(t *testing.T) (string, Options) { return t.TempDir(), Options{} },
			[]string{"neither train/ nor val/"}},
		{"flat val without ground truth", func(t *testing.T) (string, Options) {
			return flatValRoot(t, true), Options{}
		}, []string{"val", "no ground truth", "LOC_val_solution.csv"}},
		{"devkit truth without synset map", func(t *testing.T) (string, Options) {
			root := flatValRoot(t, true)
			writeFile(t, root, "ILSVRC2012_validation_ground_truth.txt", []byte(devkitTruth))
			return root, Options{}
		}, []string{"ILSVRC2012_validation_ground_truth.txt", "needs a synset map"}},
		{"listed file absent", func(t *testing.T) (string, Options) {
			root := flatValRoot(t, true)
			writeFile(t, root, "LOC_val_solution.csv", []byte(locSolution))
			os.Remove(filepath.Join(root, "val/ILSVRC2012_val_00000002.JPEG"))
			return root, Options{}
		}, []string{"LOC_val_solution.csv:5", "ILSVRC2012_val_00000002.JPEG", "absent"}}, // row for image 2 is line 5
		{"file without ground truth", func(t *testing.T) (string, Options) {
			root := flatValRoot(t, true)
			writeFile(t, root, "ILSVRC2012_validation_ground_truth.txt", []byte(devkitTruth))
			writeFile(t, root, "map_clsloc.txt", []byte(mapClsloc))
			writeFile(t, root, "val/ILSVRC2012_val_00000006.JPEG", encodeJPEG(t, gradientRGB(8, 8)))
			return root, Options{}
		}, []string{"ILSVRC2012_val_00000006.JPEG", "has no ground truth"}},
		{"unknown wnid in LOC csv", func(t *testing.T) (string, Options) {
			root := flatValRoot(t, true)
			writeFile(t, root, "LOC_val_solution.csv", []byte(strings.Replace(locSolution, fixtureWnids[flatLabels[2]]+" 10", "n09999999 10", 1)))
			return root, Options{}
		}, []string{"LOC_val_solution.csv:2", "n09999999", "not in the class list"}}, // image 3's row is line 2
		{"ILSVRC2012_ID outside the map", func(t *testing.T) (string, Options) {
			root := flatValRoot(t, true)
			writeFile(t, root, "ILSVRC2012_validation_ground_truth.txt", []byte("2\n1\n7\n3\n2\n"))
			writeFile(t, root, "map_clsloc.txt", []byte(mapClsloc))
			return root, Options{}
		}, []string{"ILSVRC2012_validation_ground_truth.txt:3", "ILSVRC2012_ID 7"}},
		{"sorted 1000-wnid list as synset map", func(t *testing.T) (string, Options) {
			root := flatValRoot(t, true)
			writeFile(t, root, "ILSVRC2012_validation_ground_truth.txt", []byte(devkitTruth))
			writeFile(t, root, "synsets.txt", []byte(sorted1000))
			return root, Options{}
		}, []string{"synsets.txt", "sorted order", "map_clsloc.txt"}},
		{"bad LOC header", func(t *testing.T) (string, Options) {
			root := flatValRoot(t, true)
			writeFile(t, root, "LOC_val_solution.csv", []byte("id,label\n"))
			return root, Options{}
		}, []string{"LOC_val_solution.csv:1", "ImageId,PredictionString"}},
		{"train folder not in class list", func(t *testing.T) (string, Options) {
			root := fixtureTree(t)
			writeFile(t, root, "classes.tsv", []byte("index\twnid\tname\tincluded\n0\tn01440764\ttench\tyes\n1\tn01443537\tgoldfish\tyes\n"))
			return root, Options{}
		}, []string{filepath.Join("train", "n01484850"), "not a wnid of the class list"}},
		{"unsorted classes.tsv", func(t *testing.T) (string, Options) {
			root := fixtureTree(t)
			writeFile(t, root, "classes.tsv", []byte("index\twnid\tname\n0\tn01443537\tgoldfish\n1\tn01440764\ttench\n"))
			return root, Options{}
		}, []string{"classes.tsv:3", "sorted order"}},
		{"classes.tsv index gap", func(t *testing.T) (string, Options) {
			root := fixtureTree(t)
			writeFile(t, root, "classes.tsv", []byte("index\twnid\tname\n0\tn01440764\ttench\n2\tn01443537\tgoldfish\n"))
			return root, Options{}
		}, []string{"classes.tsv:3", "want 1"}},
		{"val with folders and loose images", func(t *testing.T) (string, Options) {
			root := flatValRoot(t, true)
			writeFile(t, root, "val/n01440764/a.JPEG", encodeJPEG(t, gradientRGB(8, 8)))
			return root, Options{}
		}, []string{"both wnid folders and 5 loose images"}},
		{"empty class folder tree", func(t *testing.T) (string, Options) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "train", "n01440764"), 0o755)
			return root, Options{}
		}, []string{"train", "no images"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, opt := c.setup(t)
			ds, err := Open(root, opt)
			if err == nil {
				t.Fatalf("Open succeeded: %+v", ds)
			}
			if ds != nil {
				t.Fatalf("Open returned a dataset with its error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
