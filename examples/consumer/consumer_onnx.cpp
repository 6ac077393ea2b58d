// Links the ONNX component (Footprint::onnx) of an installed Footprint: lists the ONNX ops it
// imports. Importing a model is footprint::import_onnx(path).
#include <cstdio>
#include <footprint/footprint.hpp>
#include <footprint/onnx.hpp>

int main() {
  const auto ops = footprint::onnx_supported_ops();
  std::printf("footprint %s imports %zu ONNX op types, the first %s\n", footprint::version(),
              ops.size(), ops.empty() ? "-" : ops.front().c_str());
  return ops.empty() ? 1 : 0;
}
