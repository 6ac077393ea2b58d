// The .net format: one layer a line, '#' comments, "op [arg] [key=value ...] [in=A,B] [name=ID]".
// The first non-comment line is "input C H W"; an "output A[,B...]" line names the outputs when
// they are not just the last layer. Every error reads "FILE:LINE: ...".
#include <fstream>
#include <optional>
#include <sstream>

#include "footprint/error.hpp"
#include "footprint/net.hpp"

namespace footprint {
namespace {

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

// "a,b,c" -> {"a", "b", "c"}; empty items are kept, for the caller to refuse.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items(1);
  for (char ch : text) {
    if (ch == ',') {
      items.emplace_back();
    } else {
      items.back() += ch;
    }
  }
  return items;
}

int64_t parse_dim(const std::string& word, const std::string& where) {
  char* end = nullptr;
  long long value = std::strtoll(word.c_str(), &end, 10);
  if (word.empty() || *end != '\0' || value < 1 || value > (1LL << 24)) {
    throw ParseError(where + "input: '" + word + "': expected a positive integer (input C H W)");
  }
  return value;
}

}  // namespace

Net parse_net(const std::string& text, const std::string& source_name) {
  std::istringstream in(text);
  std::optional<Net> net;
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    const std::string where = source_name + ":" + std::to_string(line_no) + ": ";
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::vector<std::string> words = split_words(line);
    if (words.empty()) continue;
    if (!net) {
      if (words[0] != "input") {
        throw ParseError(where + "found '" + words[0] + "'; expected the first line to be 'input C H W'");
      }
      if (words.size() != 4) {
        throw ParseError(where + "input: expected 3 numbers (input C H W), found " +
                         std::to_string(words.size() - 1));
      }
      net.emplace(Shape{parse_dim(words[1], where), parse_dim(words[2], where),
                        parse_dim(words[3], where)});
      continue;
    }
    if (words[0] == "input") throw ParseError(where + "input: only one input line is allowed");
    if (words[0] == "output") {
      if (words.size() != 2) {
        throw ParseError(where + "output: expected one list of names, e.g. 'output logits,aux'");
      }
      try {
        net->set_outputs(split_list(words[1]));
      } catch (const Error& e) {
        throw ParseError(where + e.what());
      }
      continue;
    }
    LayerSpec spec{.op = words[0]};
    for (size_t i = 1; i < words.size(); ++i) {
      const std::string& word = words[i];
      auto eq = word.find('=');
      if (eq == std::string::npos) {
        if (!spec.arg.empty() || !spec.attrs.empty()) {
          throw ParseError(where + spec.op + ": unexpected '" + word +
                           "'; options are written key=value");
        }
        spec.arg = word;
        continue;
      }
      std::string key = word.substr(0, eq), value = word.substr(eq + 1);
      if (key.empty() || value.empty()) {
        throw ParseError(where + spec.op + ": '" + word + "': expected key=value");
      }
      if (key == "name") {
        spec.name = value;
      } else if (key == "in") {
        if (!spec.inputs.empty()) throw ParseError(where + spec.op + ": option 'in' is given twice");
        spec.inputs = split_list(value);
        for (const std::string& input : spec.inputs) {
          if (input.empty()) throw ParseError(where + spec.op + ": in=" + value + ": an empty name");
        }
      } else if (!spec.attrs.emplace(key, value).second) {
        throw ParseError(where + spec.op + ": option '" + key + "' is given twice");
      }
    }
    try {
      net->add(spec);
    } catch (const ShapeError& e) {
      throw ShapeError(where + e.what());
    } catch (const Error& e) {
      throw ParseError(where + e.what());
    }
  }
  if (!net) throw ParseError(source_name + ": no 'input C H W' line: the file defines no net");
  if (net->n_layers() == 0) throw ParseError(source_name + ": the net has no layers");
  return std::move(*net);
}

Net load_net_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw IoError(path + ": cannot open the net file");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw IoError(path + ": read error");
  return parse_net(text.str(), path);
}

}  // namespace footprint
