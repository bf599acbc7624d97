package experiments

// Metrics names every metric a spec may carry a paper number for or a claim
// may test, with its meaning. Errors are in percent (0-100), as the paper
// prints them.
//
// For a run with several seeds, a plain metric (test_error, top1_error ...)
// denotes the mean over its seeds; the _best/_mean/_std forms are explicit
// (Table 6 reports ResNet-110 as "best (mean±std)" of 5 runs, A.6).
var Metrics = map[string]string{
	"train_error":       "training error (%) at the end of training: mean error of the training mini-batches over the last evaluation interval (augmented images, training-mode BN), as plotted dashed in Figs 1, 4, 6",
	"test_error":        "CIFAR-10 test error (%) at the end of training, single view of the original 32x32 image (Sec 4.2); for a CIFAR proxy of an ImageNet spec, the proxy's test error",
	"val_error":         "top-1 error (%) of the last periodic evaluation, in the recipe's curve view (ImageNet: center crop, the bold curves of Fig. 4; a CIFAR-10 proxy: single view of the test image)",
	"top1_error":        "top-1 error (%) of the final evaluation in the resolved run's Protocol view (10-crop for Tables 2-3, multi-scale for Table 4, single view for a CIFAR-10 proxy)",
	"top5_error":        "top-5 error (%) of the final evaluation in the resolved run's Protocol view",
	"test_error_best":   "lowest test_error over a run's seeds",
	"test_error_mean":   "mean test_error over a run's seeds",
	"test_error_std":    "standard deviation of test_error over a run's seeds",
	"params":            "number of learned parameters (count, not millions)",
	"flops":             "multiply-adds of one forward pass at the dataset's input size (the paper's FLOPs, Table 1)",
	"response_std_mean": "mean over the 3x3 conv layers of the standard deviation of the layer's response (after BN, before ReLU and addition) on the test set (Fig. 7)",
}
