package experiments

import "github.com/resnet-repro/resnet-repro/modelname"

// ModelValidator reports whether a model name exists (the model registry);
// the loader calls it for every model a spec names. nil checks syntax only.
type ModelValidator func(model string) error

// Model families (modelname's).
const (
	FamilyResNet = modelname.ResNet
	FamilyPlain  = modelname.Plain
	FamilyVGG    = modelname.VGG
)

// ParseModel splits a model name "<family>-<depth>" and checks the depth
// for the dataset (modelname's grammar): on cifar10, resnet and plain with
// depth 6n+2 (n >= 1, Sec 4.2); on imagenet, the depths of Table 1, the
// plain-18/34 baselines and VGG-16/19.
func ParseModel(model, dataset string) (family string, depth int, err error) {
	family, depth, err = modelname.Parse(model)
	if err != nil {
		return "", 0, err
	}
	switch dataset {
	case "cifar10":
		err = modelname.CheckCIFAR(model, family, depth)
	case "imagenet":
		err = modelname.CheckImageNet(model, family, depth)
	default:
		panic("experiments: ParseModel with unknown dataset " + dataset)
	}
	if err != nil {
		return "", 0, err
	}
	return family, depth, nil
}
