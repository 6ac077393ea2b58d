// The MPI communicator (mpi_communicator.cpp), compiled only when the build found MPI
// (FOOTPRINT_WITH_MPI); world_communicator() is its one user.
#pragma once

#include <memory>

#include "footprint/communicator.hpp"

namespace footprint {

// Initialises MPI (MPI_THREAD_FUNNELED) unless the program did, and joins MPI_COMM_WORLD.
// CommError when MPI cannot start or cannot give the thread level.
[[nodiscard]] std::unique_ptr<Communicator> mpi_world_communicator();

}  // namespace footprint
