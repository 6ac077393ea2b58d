// Footprint: CNNs whose memory is planned, explained and kept before they run.
#pragma once

#include "footprint/data.hpp"
#include "footprint/error.hpp"
#include "footprint/explain.hpp"
#include "footprint/image.hpp"
#include "footprint/memory_guard.hpp"
#include "footprint/model_io.hpp"
#include "footprint/net.hpp"
#include "footprint/plan.hpp"
#include "footprint/process_memory.hpp"
#include "footprint/report.hpp"
#include "footprint/runtime.hpp"
#include "footprint/shape.hpp"
#include "footprint/style.hpp"
#include "footprint/train.hpp"
