// Every converter the op table (op_table.cpp) points at, by family. A converter reads the node
// being converted through Importer, appends layers or aliases, and refuses what Footprint cannot
// express with a ParseError naming the node, the op and the attribute or input at fault.
#pragma once

namespace footprint {

class Importer;

// convert_conv_pool.cpp: windows over H and W.
void convert_conv(Importer& im);
void convert_conv_transpose(Importer& im);
void convert_maxpool(Importer& im);
void convert_averagepool(Importer& im);
void convert_globalaveragepool(Importer& im);
void convert_pad(Importer& im);

// convert_eltwise.cpp: activations with attributes, arithmetic with constants and between values.
void convert_one_to_one(Importer& im);  // layer_list.def's attribute-free element-wise ops
void convert_leakyrelu(Importer& im);
void convert_clip(Importer& im);
void convert_hardsigmoid(Importer& im);
void convert_softmax(Importer& im);
void convert_dropout(Importer& im);
void convert_mul(Importer& im);
void convert_sub(Importer& im);
void convert_div(Importer& im);
void convert_only_in_fusion(Importer& im);  // Erf, Pow, Sqrt: parts of GELU and LayerNorm
void convert_add_constant(Importer& im);    // Add of a value and a constant (per channel)

// convert_joins.cpp: values combined.
void convert_add(Importer& im);
void convert_sum(Importer& im);
void convert_concat(Importer& im);

// convert_layout.cpp: views, reshapes, slices and resizing.
void convert_identity(Importer& im);
void convert_flatten(Importer& im);
void convert_reshape(Importer& im);
void convert_squeeze(Importer& im);
void convert_unsqueeze(Importer& im);
void convert_transpose(Importer& im);
void convert_slice(Importer& im);
void convert_split(Importer& im);
void convert_shape(Importer& im);
void convert_resize(Importer& im);
void convert_upsample(Importer& im);

// convert_norm.cpp: normalisation and reductions.
void convert_batchnorm(Importer& im);
void convert_layernorm(Importer& im);
void convert_reducemean(Importer& im);

// convert_linear.cpp: matrix products with constant weights.
void convert_gemm(Importer& im);
void convert_matmul(Importer& im);

// fold.cpp: shape arithmetic on constants, computed at import.
void fold_shape(Importer& im);
void fold_gather(Importer& im);
void fold_unsqueeze(Importer& im);
void fold_squeeze(Importer& im);
void fold_concat(Importer& im);
void fold_slice(Importer& im);
void fold_cast(Importer& im);
void fold_add(Importer& im);
void fold_sub(Importer& im);
void fold_mul(Importer& im);
void fold_div(Importer& im);
void fold_constant_of_shape(Importer& im);
void fold_range(Importer& im);
void fold_reshape(Importer& im);
void fold_identity(Importer& im);

}  // namespace footprint
