package main

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

// imagenetSample is the shared sample relative to this package (repo root
// at ../.., shared/ beside it).
const imagenetSample = "../../../shared/datasets/imagenet-sample"

// runBenchImageNet runs `repro imagenet ARGS` on the app with the command
// mounted at the top (the lead mounts it under `bench data`).
func runBenchImageNet(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	app := newApp(&out, &errOut)
	app.Commands = append(app.Commands, benchDataImageNetCommand())
	err := app.Run(append([]string{"repro", "imagenet"}, args...))
	return out.String(), err
}

func TestBenchDataImageNet(t *testing.T) {
	if _, err := os.Stat(imagenetSample); err != nil {
		t.Fatalf("shared ImageNet sample missing (%v): tests need ../shared/datasets/imagenet-sample beside the repo root", err)
	}
	// 3 batches of 4 from the sample's val/ (it has no train/): 12 images.
	for _, mode := range []string{"train", "10-crop"} {
		out, err := runBenchImageNet("--path", imagenetSample, "--batch", "4", "--iters", "3", "--workers", "2", "--crop", "112", "--mode", mode)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^imagenet ` + mode + ` views, crop 112, val split \(104 images\), batch 4, workers 2: 12 images in [0-9.]+s: [0-9.]+ images/s \(decoder .+\)\n$`)
		if !re.MatchString(out) {
			t.Fatalf("output %q does not match %s", out, re)
		}
	}
}

func TestBenchDataImageNetBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/val", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/val/ILSVRC2012_val_00000001.JPEG", []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing folder", []string{"--path", dir + "/nope"}, "nope"},
		{"flat val without ground truth", []string{"--path", dir}, "no ground truth"},
		{"bad mode", []string{"--path", imagenetSample, "--mode", "five-crop"}, "five-crop"},
		{"bad batch", []string{"--path", imagenetSample, "--batch", "0"}, "--batch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runBenchImageNet(c.args...)
			var in *inputError
			if !errors.As(err, &in) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v: want an input error mentioning %q", err, c.want)
			}
		})
	}
}
