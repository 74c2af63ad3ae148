#include "core/symbol.h"

#include <memory>
#include <mutex>
#include <unordered_map>

namespace wattrun {
namespace {

// Every text a Symbol was made of, keyed by a view into its own string
// (which a unique_ptr keeps in place when the table rehashes).
struct SymbolTable {
  std::mutex mutex;
  std::unordered_map<std::string_view, std::unique_ptr<const std::string>> texts;
};

SymbolTable& Table() {
  static auto* table = new SymbolTable;  // never destroyed: Symbols in static objects outlive main
  return *table;
}

}  // namespace

const std::string& Symbol::Empty() {
  static const std::string* empty = new std::string;
  return *empty;
}

Symbol::Symbol(std::string_view text) : text_(&Empty()) {
  if (text.empty()) return;
  SymbolTable& table = Table();
  const std::lock_guard<std::mutex> lock(table.mutex);
  auto it = table.texts.find(text);
  if (it == table.texts.end()) {
    auto owned = std::make_unique<const std::string>(text);
    const std::string_view key(*owned);
    it = table.texts.emplace(key, std::move(owned)).first;
  }
  text_ = it->second.get();
}

}  // namespace wattrun
