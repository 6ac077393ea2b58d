// Matrix products with constant weights: Gemm and MatMul of [N, K] become fc; a MatMul over the
// channels of a channels-last view ([N, H, W, C] x [C, D], PyTorch's Linear after a permute)
// becomes a 1x1 conv, whose output is again a channels-last view.
#include <optional>
#include <utility>
#include <vector>

#include "import/onnx/converters.hpp"
#include "import/onnx/importer.hpp"
#include "import/onnx/node_attrs.hpp"

namespace footprint {
namespace {

// Transposes a [rows, cols] matrix into [cols, rows] in its own bytes, so a weight is never held
// twice (a copy of convnext_tiny's largest MatMul weight is 9 MiB outside every plan). The value
// at i = r * cols + c goes to c * rows + r, which is i * rows mod (n - 1) for 0 < i < n - 1;
// each cycle of that permutation is followed once, and a bit per value (1/32 of the matrix)
// marks the values already moved.
void transpose_in_place(float* values, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  if (rows == 1 || cols == 1) return;  // the same bytes either way
  std::vector<bool> moved(static_cast<size_t>(n));
  for (int64_t start = 1; start < n - 1; ++start) {
    if (moved[start]) continue;
    float carried = values[start];
    int64_t i = start;
    do {
      const auto to = static_cast<int64_t>(static_cast<__int128>(i) * rows % (n - 1));  // i * rows may pass 2^63
      std::swap(carried, values[to]);
      moved[to] = true;
      i = to;
    } while (i != start);
  }
}

// weight [M, K] = alpha * B (transposed when B is [K, M]); read only when weights are wanted.
ParamSource matrix_weight(std::shared_ptr<const ConstTensor> b, bool trans_b, float alpha, int64_t k, int64_t m) {
  if (trans_b && alpha == 1.0f) return param_from("weight", std::move(b));
  return {.name = "weight", .n_elems = k * m, .fill = [b = std::move(b), trans_b, alpha, k, m](float* dst) {
            b->read_floats(dst);
            if (!trans_b) transpose_in_place(dst, /*rows=*/k, /*cols=*/m);  // [K, M] -> [M, K]
            if (alpha != 1.0f)
              for (int64_t i = 0; i < k * m; ++i) dst[i] *= alpha;
          }};
}

void add_fc(Importer& im, const ValueRef& x, bool trans_b, float alpha, std::optional<int> c_input, float beta) {
  const int64_t k = im.shape(x).n_elems();
  const auto b = im.constant(1, "B");
  const std::vector<int64_t>& b_dims = b->dims();
  if (b_dims.size() != 2) im.fail("B has shape " + dims_text(b_dims) + "; expected a matrix");
  const int64_t b_k = trans_b ? b_dims[1] : b_dims[0], m = trans_b ? b_dims[0] : b_dims[1];
  if (b_k != k) {
    im.fail("B has shape " + dims_text(b_dims) + (trans_b ? " (transposed)" : "") + ", but its input has " +
            std::to_string(k) + " features");
  }
  LayerSpec spec{.op = "fc", .arg = std::to_string(m)};
  std::vector<ParamSource> params = {matrix_weight(b, trans_b, alpha, k, m)};
  if (c_input && beta != 0.0f) {
    // A bias per output broadcasts as [M], [1, M], [1] or []; a C that varies per row does not.
    const auto c = im.constant(*c_input, "C");
    const std::vector<int64_t>& c_dims = c->dims();
    const bool per_output = c_dims.size() <= 2 && (c->n_elems() == 1 || (c->n_elems() == m && c_dims.back() == m));
    if (!per_output) {
      im.fail("C has shape " + dims_text(c_dims) + "; only a bias per output ([" + std::to_string(m) + "], [1, " +
              std::to_string(m) + "] or a scalar) maps to fc");
    }
    params.push_back({.name = "bias", .n_elems = m, .fill = [c, beta, m](float* dst) {
                        const std::vector<float> v = c->floats();
                        for (int64_t i = 0; i < m; ++i) dst[i] = beta * v[v.size() == 1 ? 0 : i];
                      }});
  } else {
    spec.attrs["bias"] = "false";
  }
  im.add_layer(spec, {x}, std::move(params), {.rank = 2});
}

}  // namespace

void convert_gemm(Importer& im) {
  NodeAttrs a(im);
  const float alpha = a.get_float("alpha", 1.0f), beta = a.get_float("beta", 1.0f);
  const int64_t trans_a = a.get_int("transA", 0), trans_b = a.get_int("transB", 0);
  a.ignore("broadcast");  // opset < 7; always broadcasts
  a.finish();
  if (trans_a != 0) {
    im.fail_attr("transA", std::to_string(trans_a), "a transposed input (samples along columns) does not map to fc");
  }
  const ValueRef x = im.activation(0);
  if (x.rank != 2) im.fail("input has rank " + std::to_string(x.rank) + "; Gemm takes a matrix [N, K]");
  add_fc(im, x, trans_b != 0, alpha, im.n_inputs() > 2 ? std::optional<int>(2) : std::nullopt, beta);
}

void convert_matmul(Importer& im) {
  NodeAttrs(im).finish();
  const ValueRef x = im.value(0);
  if (x.view == View::nchw && x.rank == 2) return add_fc(im, x, /*trans_b=*/false, 1.0f, std::nullopt, 0.0f);
  if (x.view != View::nhwc) {
    im.fail("multiplies a rank-" + std::to_string(x.rank) + " " + view_name(x.view) + " value; Footprint maps MatMul "
            "of [N, K] by a constant [K, M] to fc, and of a channels-last [N, H, W, C] by a constant [C, D] to a 1x1 conv");
  }
  const int64_t channels = im.shape(x).c;
  const auto b = im.constant(1, "B");
  if (b->rank() != 2 || b->dims()[0] != channels) {
    im.fail("B has shape " + dims_text(b->dims()) + "; expected [" + std::to_string(channels) + ", D] (over the channels)");
  }
  const int64_t out_c = b->dims()[1];
  // The conv's weight [D, C, 1, 1] is B transposed.
  std::vector<ParamSource> params = {matrix_weight(b, /*trans_b=*/false, 1.0f, channels, out_c)};
  im.add_layer({.op = "conv", .arg = std::to_string(out_c), .attrs = {{"bias", "false"}}}, {x}, std::move(params), x);
}

}  // namespace footprint
