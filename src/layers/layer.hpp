#include "footprint/layer.hpp"  // the layer interface is public: users add layers of their own
