package cifar10

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FetchConfig configures Fetch.
type FetchConfig struct {
	// DataDir is the data directory (see DataDir); the archive is stored as
	// DataDir/cifar10/cifar-10-binary.tar.gz.
	DataDir string
	// URL defaults to OfficialURL.
	URL string
	// MD5 is the expected MD5 of the whole archive (hex); it defaults to
	// ArchiveMD5, the official archive's.
	MD5 string
	// Client defaults to http.DefaultClient.
	Client *http.Client
	// Progress, if set, is called as bytes arrive with the bytes on disk so
	// far and the archive's total size (-1 if the server does not say).
	Progress func(done, total int64)
}

// FetchResult says what Fetch did.
type FetchResult struct {
	Path string // the stored archive
	// Present: the archive was already there; nothing was downloaded.
	Present bool
	// ResumedAt is the size of the partial download that was continued
	// (0: downloaded from the start); Downloaded counts the bytes received.
	ResumedAt, Downloaded int64
}

// Fetch downloads the archive into cfg.DataDir/cifar10/. The bytes go to
// cifar-10-binary.tar.gz.part beside the destination; an interrupted
// transfer leaves that file, and the next Fetch asks the server for the
// rest (HTTP Range) and continues it. When the transfer is complete its MD5
// must be cfg.MD5: then it is synced and renamed into place; otherwise the
// partial file is removed (a corrupt transfer cannot be resumed) and Fetch
// fails. If the archive is already stored Fetch downloads nothing (use
// Load or `repro data verify cifar10` to check it).
func Fetch(ctx context.Context, cfg FetchConfig) (FetchResult, error) {
	if cfg.URL == "" {
		cfg.URL = OfficialURL
	}
	if cfg.MD5 == "" {
		cfg.MD5 = ArchiveMD5
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	dir := filepath.Join(cfg.DataDir, "cifar10")
	dest := filepath.Join(dir, ArchiveName)
	res := FetchResult{Path: dest}
	if fileExists(dest) {
		res.Present = true
		return res, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("cifar10: %w", err)
	}
	part := dest + ".part"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return res, fmt.Errorf("cifar10: %w", err)
	}
	defer f.Close()
	h := md5.New()
	have, err := io.Copy(h, f) // hash what an earlier attempt left
	if err != nil {
		return res, fmt.Errorf("%s: %w", part, err)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
	if err != nil {
		return res, fmt.Errorf("cifar10: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return res, fmt.Errorf("cifar10: download %s: %w", cfg.URL, err)
	}
	defer resp.Body.Close()

	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return res, fmt.Errorf("cifar10: download %s: server resumed at %q, asked for byte %d", cfg.URL, resp.Header.Get("Content-Range"), have)
		}
		total = size
		res.ResumedAt = have
	case resp.StatusCode == http.StatusOK:
		// A fresh transfer (or a server that ignores Range): start over.
		if err := restart(f, h); err != nil {
			return res, fmt.Errorf("%s: %w", part, err)
		}
		have = 0
		total = resp.ContentLength
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The partial file may already be whole; the checksum decides.
		total = have
	default:
		return res, fmt.Errorf("cifar10: download %s: %s", cfg.URL, resp.Status)
	}

	progress := func(int64) {}
	if cfg.Progress != nil {
		progress = func(done int64) { cfg.Progress(done, total) }
	}
	progress(have)
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		n, err := copyProgress(io.MultiWriter(f, h), resp.Body, have, progress)
		res.Downloaded = n
		have += n
		if err == nil && total >= 0 && have != total {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			f.Sync()
			return res, fmt.Errorf("cifar10: download %s interrupted after %d of %s bytes (%v); %s is kept: run the command again to resume",
				cfg.URL, have, sizeText(total), err, part)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != cfg.MD5 {
		f.Close()
		os.Remove(part)
		return res, fmt.Errorf("cifar10: download %s: md5 %s, want %s: the transfer is corrupt and was removed; run the command again to download afresh",
			cfg.URL, got, cfg.MD5)
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("%s: %w", part, err)
	}
	if err := f.Close(); err != nil {
		return res, fmt.Errorf("%s: %w", part, err)
	}
	if err := os.Rename(part, dest); err != nil {
		return res, fmt.Errorf("cifar10: %w", err)
	}
	syncDir(dir)
	return res, nil
}

func sizeText(n int64) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.FormatInt(n, 10)
}

func restart(f *os.File, h hash.Hash) error {
	h.Reset()
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// parseContentRange reads "bytes START-END/SIZE" (SIZE may be "*", -1).
func parseContentRange(s string) (start, size int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	size = -1
	if sz != "*" {
		if size, err = strconv.ParseInt(sz, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, size, true
}

// copyProgress copies src to dst, reporting the running total (base plus
// bytes copied) after each chunk.
func copyProgress(dst io.Writer, src io.Reader, base int64, progress func(int64)) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			if _, err := dst.Write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
			progress(base + n)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// ImportResult says what Import stored.
type ImportResult struct {
	Path string // the stored archive
	MD5  string // the archive's MD5
	// Official: the archive is byte for byte the official one. Otherwise it
	// is a re-packed archive whose six batch files are the official ones.
	Official bool
}

// Import copies a local archive into dataDir/cifar10/cifar-10-binary.tar.gz
// (temporary file, sync, rename). It accepts the official archive (MD5
// ArchiveMD5) and any archive whose six batch files pass Load's checks,
// official per-file MD5s included (e.g. the re-packed shared copy). One
// pass reads the source: copy, archive MD5 and content check together.
func Import(from, dataDir string) (ImportResult, error) {
	return importArchive(from, dataDir, official)
}

func importArchive(from, dataDir string, lay layout) (ImportResult, error) {
	st, err := os.Stat(from)
	if err != nil {
		return ImportResult{}, fmt.Errorf("cifar10: %w", err)
	}
	if st.IsDir() {
		return ImportResult{}, fmt.Errorf("%s: a folder; --from takes the archive (%s). To use an extracted %s/, put it in DIR/cifar10/ and pass --data DIR",
			from, ArchiveName, BatchesDir)
	}
	dir := filepath.Join(dataDir, "cifar10")
	dest := filepath.Join(dir, ArchiveName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ImportResult{}, fmt.Errorf("cifar10: %w", err)
	}
	src, err := os.Open(from)
	if err != nil {
		return ImportResult{}, fmt.Errorf("cifar10: %w", err)
	}
	defer src.Close()
	if dst, err := os.Stat(dest); err == nil && os.SameFile(st, dst) {
		return ImportResult{}, fmt.Errorf("%s: already the stored archive", from)
	}
	tmp, err := os.CreateTemp(dir, "."+ArchiveName+".import-*")
	if err != nil {
		return ImportResult{}, fmt.Errorf("cifar10: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := md5.New()
	w := io.MultiWriter(tmp, h)
	ds := &Dataset{Train: newSplit("train", len(trainFiles)*lay.records), Test: newSplit("test", lay.records)}
	if err := readArchiveStream(io.TeeReader(src, w), from, lay, ds); err != nil {
		return ImportResult{}, err
	}
	if _, err := io.Copy(w, src); err != nil { // whatever gzip left unread
		return ImportResult{}, fmt.Errorf("%s: %w", from, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := tmp.Sync(); err != nil {
		return ImportResult{}, fmt.Errorf("cifar10: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return ImportResult{}, fmt.Errorf("cifar10: %w", err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return ImportResult{}, fmt.Errorf("cifar10: %w", err)
	}
	ok = true
	syncDir(dir)
	return ImportResult{Path: dest, MD5: sum, Official: sum == ArchiveMD5}, nil
}

// Ensure returns where CIFAR-10 lies under cfg.DataDir, downloading it with
// Fetch (and a message on log) when it is absent. If the download fails the
// error says how to point at a local copy.
func Ensure(ctx context.Context, cfg FetchConfig, log io.Writer) (string, error) {
	p, err := Locate(cfg.DataDir)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	url := cfg.URL
	if url == "" {
		url = OfficialURL
	}
	fmt.Fprintf(log, "cifar10: not in %s; downloading %s\n", filepath.Join(cfg.DataDir, "cifar10"), url)
	res, ferr := Fetch(ctx, cfg)
	if ferr != nil {
		return "", fmt.Errorf("%w; the download failed: %v", err, ferr)
	}
	return res.Path, nil
}
