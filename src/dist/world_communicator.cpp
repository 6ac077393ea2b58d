// Which job this process is in: MPI's world when a launcher started it and the library was built
// with MPI, else a job of one. The choice is made once; the object lives until exit.
#include <cstdlib>
#include <string>

#include "footprint/communicator.hpp"
#if defined(FOOTPRINT_WITH_MPI)
#include "dist/mpi_communicator.hpp"
#endif

namespace footprint {
namespace {

int env_int(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? std::atoi(value) : 0;
}

std::unique_ptr<Communicator> make_world() {
  const int launched = launcher_world_size();
  if (launched == 0) return single_process_communicator();
#if defined(FOOTPRINT_WITH_MPI)
  return mpi_world_communicator();
#else
  if (launched > 1) {
    throw CommError("a launcher started " + std::to_string(launched) +
                    " processes, but this Footprint was built without MPI, so each would train "
                    "alone; build it with MPI (libopenmpi-dev installed, FOOTPRINT_WITH_MPI=ON)");
  }
  return single_process_communicator();
#endif
}

}  // namespace

bool built_with_mpi() {
#if defined(FOOTPRINT_WITH_MPI)
  return true;
#else
  return false;
#endif
}

// Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; MPICH's hydra and Slurm's srun (PMI) set PMI_SIZE;
// a PMIx launcher that names no size sets PMIX_RANK, and MPI tells the size once started.
int launcher_world_size() {
  if (const int n = env_int("OMPI_COMM_WORLD_SIZE"); n > 0) return n;
  if (const int n = env_int("PMI_SIZE"); n > 0) return n;
  if (std::getenv("PMIX_RANK") != nullptr) return 1;
  return 0;
}

int local_rank_count() {
  if (const int n = env_int("OMPI_COMM_WORLD_LOCAL_SIZE"); n > 0) return n;
  if (const int n = env_int("MPI_LOCALNRANKS"); n > 0) return n;  // MPICH's Hydra
  if (const int n = env_int("SLURM_NTASKS_PER_NODE"); n > 0) return n;
  return launcher_world_size() > 0 ? 1 : 0;
}

Communicator& world_communicator(std::chrono::milliseconds timeout) {
  static const std::unique_ptr<Communicator> world = make_world();
  world->set_timeout(timeout);
  return *world;
}

}  // namespace footprint
