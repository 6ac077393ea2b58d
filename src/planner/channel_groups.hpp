// Concatenation without copies: which concats can have their inputs written straight into their
// channel ranges of one shared buffer, so that the concat itself computes nothing.
//
// With a batch of N, input k of a concat is a channel range of every sample of the output: its
// samples lie one output-sample apart, so everything that writes or reads it must take a sample
// stride (LayerNeeds::strided_src / strided_dst). A group is one buffer whose channels hold a
// sequence of member values; each joined concat's output is a view of a run of consecutive
// members. DenseNet's growing concats (x0; x0,x1; x0,x1,x2; ...) are one group whose views are
// prefixes, which is how memory-efficient DenseNet shares one storage per block. Concats are
// taken widest first; one whose inputs cannot be placed consistently keeps its copy.
#pragma once

#include <cstdint>
#include <vector>

#include "footprint/net.hpp"
#include "layers/layer.hpp"

namespace footprint {

struct ChannelRange {
  int value = 0;           // a value id
  int64_t channel_begin = 0;
};

struct ChannelGroup {
  int64_t channels = 0;             // of the whole group
  std::vector<ChannelRange> members;  // storage roots of the values written in place, in order
  std::vector<ChannelRange> views;    // outputs of the joined concats
  std::vector<int> concats;           // the joined concat layers, widest first
};

struct ChannelGroupInputs {
  const Net* net = nullptr;
  const std::vector<LayerNeeds>* needs = nullptr;  // per layer
  const std::vector<bool>* in_place = nullptr;     // per layer, as chosen so far
  std::vector<bool> pinned;  // per value: must keep a buffer of its own (outputs, taps, input)
};

// Groups of concats to join in place; the values of every member and view are listed once.
[[nodiscard]] std::vector<ChannelGroup> find_channel_groups(const ChannelGroupInputs& in);

}  // namespace footprint
