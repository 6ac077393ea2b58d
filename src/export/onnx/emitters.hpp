// Every emitter the export table (op_table.cpp) points at, by family. An emitter reads the layer
// being exported through Exporter and appends the nodes it becomes, the last one writing the
// layer's value (Exporter::output()). The mirror of src/import/onnx/converters.hpp: what an
// emitter writes, the importer's converters (and fusions) read back as the same layer.
#pragma once

namespace footprint::onnx_export {

class Exporter;

// emit_conv_pool.cpp: windows over H and W.
void emit_conv(Exporter& ex);
void emit_conv_transpose(Exporter& ex);
void emit_maxpool(Exporter& ex);
void emit_avgpool(Exporter& ex);
void emit_globalavgpool(Exporter& ex);
void emit_pad(Exporter& ex);

// emit_eltwise.cpp: activations, arithmetic between values, per-channel affine.
void emit_one_to_one(Exporter& ex);  // layer_list.def's attribute-free element-wise ops
void emit_leakyrelu(Exporter& ex);
void emit_clip(Exporter& ex);
void emit_hardsigmoid(Exporter& ex);
void emit_hardswish(Exporter& ex);
void emit_silu(Exporter& ex);
void emit_gelu(Exporter& ex);
void emit_softmax(Exporter& ex);
void emit_dropout(Exporter& ex);
void emit_mul(Exporter& ex);
void emit_sub(Exporter& ex);
void emit_div(Exporter& ex);
void emit_affine(Exporter& ex);

// emit_joins.cpp: values combined.
void emit_add(Exporter& ex);
void emit_concat(Exporter& ex);

// emit_layout.cpp: reshapes, slices and resizing.
void emit_flatten(Exporter& ex);
void emit_shuffle(Exporter& ex);
void emit_slice(Exporter& ex);
void emit_upsample(Exporter& ex);

// emit_norm.cpp: normalisation.
void emit_batchnorm(Exporter& ex);
void emit_layernorm(Exporter& ex);

// emit_linear.cpp: fc.
void emit_fc(Exporter& ex);

}  // namespace footprint::onnx_export
