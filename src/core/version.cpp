// footprint::version(): the version this library was built as (include/footprint/version.hpp).
#include "footprint/version.hpp"

namespace footprint {

const char* version() { return FOOTPRINT_VERSION_STRING; }

}  // namespace footprint
