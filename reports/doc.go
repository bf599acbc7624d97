// Package reports turns the results database into what a reader of He et
// al. 2016 ("Deep Residual Learning for Image Recognition") wants to see:
// one markdown file per spec (table or figure) with the paper's numbers
// beside ours, the paper's claims checked on our data, plots in the
// paper's style, and an index (README.md) with the provenance of every
// number.
//
// # What is read, and from where
//
// The package imports results (the SQLite store), experiments (the specs,
// their resolution and the claim evaluator) and models (only Define and
// the analytic counts of Layout, for Table 1, parameter counts and the
// architecture diagrams). It never imports the training engine.
//
// A spec is resolved at one scale (experiments.Resolve); the identities
// of its runs (ResolvedRun.IDs) are looked up in the database, so a run
// shared by several specs (fig6 and table6) is found under each of them.
// The scale is the one given (Options.Scale) or, by default, the largest
// scale at which any run of the spec is in the database (quick when none
// is). A run's numbers are read as follows (Metrics in experiments):
//
//	train_error        train/error at the run's last logged iteration
//	test_error         test/error at the last iteration
//	val_error          the last periodic evaluation: test/error on CIFAR-10
//	                   (and its ImageNet proxies), val/error on ImageNet
//	top1_error         test/error (CIFAR-10 proxy) or val/error (ImageNet)
//	top5_error         test/top5 (proxy) or val/top5 (ImageNet)
//	response_std_mean  mean over the layers of the responses table (Fig. 7)
//	params, flops      analytic counts of the run's network (models.Layout)
//
// Only seeds whose status is done count; a plain metric over several
// seeds is their mean, _best the lowest, _std the sample standard
// deviation (n-1 in the denominator; not measurable with one seed). A run
// without a finished seed is shown by its state ("not run", "running,
// 3000/64000 iterations", "failed at iteration 12/100"), never as a blank
// or a zero.
//
// # Determinism
//
// The same database gives byte-identical markdown: nothing depends on the
// clock, map order or the path of the database (only its base name is
// printed). Plots are written as PNG (96 dpi) and SVG of fixed sizes, with
// gonum/plot's embedded Liberation fonts.
//
// # Files
//
//	<out>/README.md               index, headline comparison, provenance
//	<out>/<id>.md                 one per spec
//	<out>/plots/<id>-<name>.png   and .svg: curves, Fig. 7, diagrams
//
// Generated files say so in their first line. Plot files of a spec that
// the new report no longer links are removed when the spec is regenerated.
package reports
