package modelname

import (
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name    string
		family  string
		depth   int
		wantErr string
	}{
		{"resnet-20", ResNet, 20, ""},
		{"plain-34", Plain, 34, ""},
		{"vgg-16", VGG, 16, ""},
		{"resnet", "", 0, "want <family>-<depth>"},
		{"resnet-", "", 0, "want <family>-<depth>"},
		{"-20", "", 0, "want <family>-<depth>"},
		{"densenet-121", "", 0, `unknown family "densenet"`},
		{"resnet-020", "", 0, "not a positive integer"}, // canonical digits only
		{"resnet-0", "", 0, "not a positive integer"},
		{"resnet-1e3", "", 0, "not a positive integer"},
	} {
		fam, depth, err := Parse(c.name)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Parse(%q) = %v, want an error with %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil || fam != c.family || depth != c.depth {
			t.Errorf("Parse(%q) = %s, %d, %v; want %s, %d", c.name, fam, depth, err, c.family, c.depth)
		}
	}
}

// The layouts' depths: Table 1 (ResNets), Table 2 and Fig. 4 (plain-18/34),
// Table 3 and Fig. 3 (VGG-16/19), Sec. 4.2 (CIFAR-10's 6n+2).
func TestLayoutDepths(t *testing.T) {
	for _, c := range []struct {
		family          string
		depth           int
		imagenet, cifar bool
	}{
		{ResNet, 18, true, false},
		{ResNet, 152, true, true}, // 152 = 6*25+2 also names a CIFAR-10 net
		{ResNet, 20, false, true},
		{ResNet, 1202, false, true},
		{ResNet, 8, false, true}, // n = 1, the smallest
		{ResNet, 2, false, false},
		{Plain, 34, true, false},
		{Plain, 50, false, true}, // 50 = 6*8+2: a CIFAR plain net, not an ImageNet one
		{Plain, 101, false, false},
		{Plain, 110, false, true},
		{VGG, 16, true, false},
		{VGG, 11, false, false},
		{VGG, 20, false, false},
	} {
		name := c.family + "-" + strconv.Itoa(c.depth)
		if got := CheckImageNet(name, c.family, c.depth) == nil; got != c.imagenet {
			t.Errorf("%s-%d on ImageNet: accepted %v, want %v", c.family, c.depth, got, c.imagenet)
		}
		if got := CheckCIFAR(name, c.family, c.depth) == nil; got != c.cifar {
			t.Errorf("%s-%d on CIFAR-10: accepted %v, want %v", c.family, c.depth, got, c.cifar)
		}
	}
}
