// The public entry points: export_onnx finds each parameter by name, has the walk
// (exporter.cpp) build the model, and streams it to PATH.tmp, renamed into place when whole.
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <unordered_map>

#include "export/onnx/exporter.hpp"
#include "export/onnx/op_table.hpp"
#include "footprint/error.hpp"
#include "footprint/onnx.hpp"
#include "io/atomic_file.hpp"

namespace footprint {
namespace {

// Protobuf's serializer writes through this into the AtomicFile, in its own buffer's pieces, so
// the model is never held a second time as one string.
class AtomicFileStream final : public google::protobuf::io::CopyingOutputStream {
 public:
  explicit AtomicFileStream(AtomicFile& file) : file_(file) {}
  bool Write(const void* buffer, int size) override {
    file_.write(buffer, static_cast<size_t>(size));
    return true;
  }

 private:
  AtomicFile& file_;
};

void write_model(const onnx::ModelProto& model, const std::string& path) {
  // Protobuf refuses messages of 2 GiB and more; ONNX keeps larger weights in external files,
  // which this writer does not.
  const size_t n_bytes = model.ByteSizeLong();
  if (n_bytes > static_cast<size_t>(INT_MAX)) {
    throw IoError("exporting " + path + ": the model takes " + std::to_string(n_bytes) +
                  " bytes; ONNX files hold at most 2 GiB without external data, which the exporter does not write");
  }
  AtomicFile file(path, "exporting ONNX model");
  AtomicFileStream stream(file);
  google::protobuf::io::CopyingOutputStreamAdaptor adaptor(&stream);
  if (!model.SerializeToZeroCopyStream(&adaptor)) throw IoError("exporting " + path + ": the model could not be serialised");
  adaptor.Flush();
  file.commit();
}

}  // namespace

void export_onnx(const Net& net, const SavedModel& weights, const std::string& path, const std::string& source) {
  std::unordered_map<std::string, const SavedTensor*> by_name;
  for (const SavedTensor& t : weights.tensors) by_name[t.name] = &t;
  auto lookup = [&](const std::string& name) -> std::span<const float> {
    auto it = by_name.find(name);
    if (it == by_name.end()) return {};
    return it->second->data;
  };
  write_model(onnx_export::Exporter(net, lookup, source).run(), path);
}

void export_onnx(const Runtime& runtime, const std::string& path, const std::string& source) {
  std::unordered_map<std::string, const ParamView*> by_name;
  for (const ParamView& p : runtime.parameters()) by_name[p.name] = &p;
  auto lookup = [&](const std::string& name) -> std::span<const float> {
    auto it = by_name.find(name);
    if (it == by_name.end()) return {};
    return {it->second->data, static_cast<size_t>(it->second->n_elems)};
  };
  write_model(onnx_export::Exporter(runtime.net(), lookup, source).run(), path);
}

std::vector<OnnxExportForm> onnx_export_forms() {
  std::vector<OnnxExportForm> forms;
  for (const onnx_export::ExportEntry& e : onnx_export::export_table()) forms.push_back({e.op, e.onnx_form});
  return forms;
}

}  // namespace footprint
