// Several ONNX nodes that exporters write for one function, imported as one layer: fewer values
// alive at once, so less memory, and one pass over the data instead of five to ten.
#pragma once

namespace footprint {

class Importer;

// At the node being converted, tries each pattern that starts there: Sigmoid(x) * x -> silu,
// HardSigmoid(x) * x with PyTorch's alpha 1/6 -> hardswish, x * 0.5 * (1 + Erf(x / sqrt(2))) ->
// gelu, and LayerNorm over the channels as torch.onnx writes it at opset 13 (ReduceMean, Sub,
// Pow, ReduceMean, Add, Sqrt, Div, then Mul by gamma and Add of beta) -> layernorm. A pattern
// matches only when its intermediate values have no reader outside it; the nodes it covers are
// then skipped by the walk. True when one matched.
bool try_fusion(Importer& im);

}  // namespace footprint
