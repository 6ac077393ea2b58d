#include "planner/channel_groups.hpp"

#include <algorithm>
#include <numeric>

namespace footprint {
namespace {

class GroupFinder {
 public:
  explicit GroupFinder(const ChannelGroupInputs& in)
      : in_(in), net_(*in.net), consumers_(net_.consumers()) {
    const int n_values = net_.n_values();
    root_.resize(n_values);
    std::iota(root_.begin(), root_.end(), 0);
    for (int i = 0; i < net_.n_layers(); ++i)
      if ((*in_.in_place)[i]) root_[i + 1] = root_[net_.node(i).inputs[0]];
    aliases_.resize(n_values);
    for (int v = 0; v < n_values; ++v) aliases_[root_[v]].push_back(v);
    group_of_.assign(n_values, -1);
  }

  std::vector<ChannelGroup> run() {
    std::vector<int> concats;
    for (int i = 0; i < net_.n_layers(); ++i)
      if ((*in_.needs)[i].joins_channels) concats.push_back(i);
    // Widest first: its input order fixes the order of the group's channels.
    std::stable_sort(concats.begin(), concats.end(), [&](int a, int b) {
      return net_.node(a).inputs.size() > net_.node(b).inputs.size();
    });
    for (int c : concats) try_join(c);
    return std::move(groups_);
  }

 private:
  // The bytes of root r can be a channel range of a larger buffer: every layer that writes them
  // and every layer that reads them takes a sample stride, and nothing pins them in place.
  [[nodiscard]] bool movable(int root) const {
    if (root == 0) return false;
    for (int v : aliases_[root]) {
      if (in_.pinned[v]) return false;
      if (!(*in_.needs)[v - 1].strided_dst) return false;  // its writer (producer or in place)
      for (int reader : consumers_[v])
        if (!(*in_.needs)[reader].strided_src) return false;
    }
    return true;
  }

  [[nodiscard]] bool readers_take_strides(int value) const {
    for (int reader : consumers_[value])
      if (!(*in_.needs)[reader].strided_src) return false;
    return true;
  }

  [[nodiscard]] int64_t channels(int value) const { return net_.value_shape(value).c; }

  void try_join(int concat) {
    const int out = concat + 1;
    std::vector<int> roots;
    for (int v : net_.node(concat).inputs) roots.push_back(root_[v]);
    std::vector<int> sorted = roots;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return;  // a value twice
    if (!std::all_of(roots.begin(), roots.end(), [&](int r) { return movable(r); })) return;
    const bool ungrouped = std::all_of(roots.begin(), roots.end(), [&](int r) {
      return group_of_[r] < 0;
    });
    if (group_of_[out] >= 0) {
      // The concat's output is itself a member of a wider group: its inputs take its place.
      if (!ungrouped || !readers_take_strides(out)) return;
      ChannelGroup& g = groups_[group_of_[out]];
      auto at = std::find_if(g.members.begin(), g.members.end(),
                             [&](const ChannelRange& m) { return m.value == out; });
      int64_t channel = at->channel_begin;
      std::vector<ChannelRange> inner;
      for (int r : roots) {
        inner.push_back({r, channel});
        channel += channels(r);
        group_of_[r] = group_of_[out];
      }
      const ChannelRange view = *at;
      at = g.members.erase(at);
      g.members.insert(at, inner.begin(), inner.end());
      g.views.push_back(view);
      g.concats.push_back(concat);
      return;
    }
    if (ungrouped) {  // a new group, whose whole is this concat's output
      ChannelGroup g;
      for (int r : roots) {
        g.members.push_back({r, g.channels});
        g.channels += channels(r);
        group_of_[r] = static_cast<int>(groups_.size());
      }
      g.views.push_back({out, 0});
      g.concats.push_back(concat);
      group_of_[out] = static_cast<int>(groups_.size());
      groups_.push_back(std::move(g));
      return;
    }
    // Every input already in one group, as a run of consecutive members in the same order:
    // the output is a view of that run.
    const int index = group_of_[roots[0]];
    if (index < 0 || !readers_take_strides(out)) return;
    ChannelGroup& g = groups_[index];
    auto first = std::find_if(g.members.begin(), g.members.end(),
                              [&](const ChannelRange& m) { return m.value == roots[0]; });
    if (g.members.end() - first < static_cast<std::ptrdiff_t>(roots.size())) return;
    for (size_t k = 0; k < roots.size(); ++k)
      if (first[static_cast<std::ptrdiff_t>(k)].value != roots[k]) return;
    g.views.push_back({out, first->channel_begin});
    g.concats.push_back(concat);
    group_of_[out] = index;
  }

  const ChannelGroupInputs& in_;
  const Net& net_;
  std::vector<std::vector<int>> consumers_;  // per value
  std::vector<int> root_;                    // per value: the value whose bytes it shares
  std::vector<std::vector<int>> aliases_;    // per root: the values sharing its bytes
  std::vector<int> group_of_;                // per value (roots and views): its group, or -1
  std::vector<ChannelGroup> groups_;
};

}  // namespace

std::vector<ChannelGroup> find_channel_groups(const ChannelGroupInputs& in) {
  return GroupFinder(in).run();
}

}  // namespace footprint
