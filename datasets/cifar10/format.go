package cifar10

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"sort"
)

// Layout of the official binary distribution (Krizhevsky 2009, "binary
// version" section of the CIFAR-10 page).
const (
	Height   = 32
	Width    = 32
	Channels = 3
	// ImageSize is the number of bytes (and of float32 values after
	// preprocessing) in one image: 3 planes of 32x32, CHW order.
	ImageSize = Channels * Height * Width
	// RecordSize is one record of a .bin file: a label byte then the image.
	RecordSize = 1 + ImageSize
	// RecordsPerFile is the number of records in each of the six .bin files.
	RecordsPerFile = 10000
	// NumClasses is the number of labels; a label byte is in 0..NumClasses-1.
	NumClasses = 10

	// TrainSize and TestSize are the official split sizes.
	TrainSize = 5 * RecordsPerFile
	TestSize  = RecordsPerFile

	// ArchiveName is the official archive's file name; BatchesDir is the
	// folder it unpacks to.
	ArchiveName = "cifar-10-binary.tar.gz"
	BatchesDir  = "cifar-10-batches-bin"
	// OfficialURL is where the official archive is published.
	OfficialURL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
	// ArchiveMD5 is the MD5 of the official archive as published.
	ArchiveMD5 = "c32a1d4ab5d03f1284b67883e8d87530"
)

// ClassNames returns the class names in label order (batches.meta.txt).
func ClassNames() [NumClasses]string {
	return [NumClasses]string{
		"airplane", "automobile", "bird", "cat", "deer",
		"dog", "frog", "horse", "ship", "truck",
	}
}

// trainFiles and testFile name the six batch files, in the order their
// records are concatenated.
var (
	trainFiles = [5]string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	testFile   = "test_batch.bin"
)

// FileMD5 returns the official MD5 (hex) of a batch file name and whether
// the name is one of the six.
func FileMD5(name string) (string, bool) {
	s, ok := officialMD5[name]
	return s, ok
}

// officialMD5 maps each official batch file to its MD5 (the official
// extracted files; see ../shared/datasets/cifar10/README.md, where they were
// checked against independently published lists).
var officialMD5 = map[string]string{
	"data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
	"data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
	"data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
	"data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
	"data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
	"test_batch.bin":   "803d5f7f4d78ea53de84dbe85f74fb6d",
}

// layout is what a reader checks a distribution against. official is the
// real one; tests use small layouts with their own checksums.
type layout struct {
	records int               // records per file
	md5     map[string]string // file name -> hex MD5
}

var official = layout{records: RecordsPerFile, md5: officialMD5}

// allFiles returns the six batch files in concatenation order.
func allFiles() []string {
	return append(trainFiles[:], testFile)
}

// ContentDigest identifies the data every successful Load returns: Load
// accepts only batch files with the official MD5s, so the data is fixed by
// them. It is the MD5 of the lines "<file> <md5>\n" of the six official
// files in name order, prefixed "md5:"; runs record it as their data
// checksum.
func ContentDigest() string {
	names := make([]string, 0, len(officialMD5))
	for n := range officialMD5 {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s %s\n", n, officialMD5[n])
	}
	return "md5:" + hex.EncodeToString(h.Sum(nil))
}
