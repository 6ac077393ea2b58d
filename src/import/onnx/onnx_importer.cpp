// The public entry points: import_onnx reads the file with the initializers' bytes left in it
// (onnx_file.cpp), walks the graph (importer.cpp) and hands back the Net with its weights in
// memory, deferred until a runtime exists, or not at all.
#include "import/onnx/onnx_importer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "footprint/error.hpp"
#include "import/onnx/const_tensor.hpp"
#include "import/onnx/importer.hpp"
#include "import/onnx/onnx_file.hpp"

namespace footprint {

std::vector<float> onnx_tensor_floats(const onnx::TensorProto& tensor, const std::string& what) {
  const auto t = ConstTensor::from_proto(tensor, what);
  if (!t->is_float()) throw ParseError(what + ": data type " + t->type_name() + " is not supported; Footprint computes in float32");
  return t->floats();
}

void read_onnx_model(const std::string& path, onnx::ModelProto& model) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
  const bool parsed = model.ParseFromFileDescriptor(fd);
  const off_t size = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  if (size == 0) throw IoError(path + ": the file is empty");
  if (!parsed) throw IoError(path + ": not a valid ONNX model (truncated or corrupt file?)");
  if (!model.has_graph() || model.ir_version() <= 0) {
    throw IoError(path + ": not an ONNX model (no graph or IR version; truncated or corrupt file?)");
  }
}

OnnxModel import_onnx_model(onnx::ModelProto& model, const std::string& source, const OnnxImportOptions& options) {
  return Importer(model, source, options).run();
}

OnnxModel import_onnx(const std::string& path, const OnnxImportOptions& options) {
  DeferredModel file;
  read_onnx_model_deferred(path, file);
  return Importer(file.model, path, options, file.file, &file.deferred).run();
}

void OnnxModel::restore_weights(Runtime& runtime) {
  if (!deferred) return restore_parameters(weights, runtime);
  // Everything is checked before anything is written, so a mismatch leaves the runtime as it was.
  std::unordered_map<std::string, ParamSource*> by_name;
  for (ParamSource& p : deferred->params) by_name[p.name] = &p;
  const std::vector<ParamView>& params = runtime.parameters();
  std::vector<ParamSource*> sources;
  for (const ParamView& p : params) {
    auto it = by_name.find(p.name);
    if (it == by_name.end()) throw IoError("ONNX model: '" + p.name + "' is missing (the runtime was planned for another net?)");
    if (it->second->n_elems != p.n_elems) {
      throw IoError("ONNX model: '" + p.name + "' has " + std::to_string(it->second->n_elems) + " values, the runtime's " +
                    std::to_string(p.n_elems));
    }
    sources.push_back(it->second);
  }
  if (sources.size() != deferred->params.size()) {
    throw IoError("ONNX model: it has " + std::to_string(deferred->params.size()) + " parameter tensors, the runtime " +
                  std::to_string(sources.size()) + " (planned for another net?)");
  }
  for (size_t i = 0; i < params.size(); ++i) {
    sources[i]->fill(params[i].data);
    sources[i]->fill = nullptr;  // lets go of the constant and what it held
  }
  deferred.reset();
}

bool looks_like_onnx(const std::string& path) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".onnx") == 0) return true;
  std::ifstream in(path, std::ios::binary);
  char first = 0;
  // A ModelProto opens with field 1 (ir_version, a varint): tag byte 0x08. Text never does.
  return in.get(first) && first == 0x08;
}

}  // namespace footprint
