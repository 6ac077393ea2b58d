# What `cmake --install build --prefix P` puts in place, in GNUInstallDirs' places: the public
# headers, the static and shared libraries, the ONNX importer, the footprint CLI, the CMake
# package (find_package(Footprint [COMPONENTS onnx])) and footprint.pc for pkg-config.
include(CMakePackageConfigHelpers)

set(FOOTPRINT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Footprint)

install(TARGETS footprint footprint_shared EXPORT FootprintTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS footprint_onnx EXPORT FootprintOnnxTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS footprint-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/footprint ${PROJECT_BINARY_DIR}/include/footprint
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT FootprintTargets NAMESPACE Footprint:: DESTINATION ${FOOTPRINT_CMAKE_DIR})
install(EXPORT FootprintOnnxTargets NAMESPACE Footprint:: DESTINATION ${FOOTPRINT_CMAKE_DIR})
configure_package_config_file(cmake/FootprintConfig.cmake.in
  ${PROJECT_BINARY_DIR}/FootprintConfig.cmake INSTALL_DESTINATION ${FOOTPRINT_CMAKE_DIR})
# 0.x: a new minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/FootprintConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/FootprintConfig.cmake
  ${PROJECT_BINARY_DIR}/FootprintConfigVersion.cmake DESTINATION ${FOOTPRINT_CMAKE_DIR})

# The prefix is given at install time (--prefix), after this file was configured, so footprint.pc
# finds it from its own directory (lib/pkgconfig -> ../..). Absolute directories stay as given.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(FOOTPRINT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(FOOTPRINT_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(FOOTPRINT_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH FOOTPRINT_PC_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
  string(REGEX REPLACE "/$" "" FOOTPRINT_PC_PREFIX "\${pcfiledir}/${FOOTPRINT_PC_PREFIX}")
  set(FOOTPRINT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(FOOTPRINT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Debian names the C library of whichever MPI is installed mpi-c (Open MPI: ompi-c, MPICH: mpich).
if(FOOTPRINT_WITH_MPI)
  set(FOOTPRINT_PC_MPI " mpi-c")
else()
  set(FOOTPRINT_PC_MPI "")
endif()
configure_file(cmake/footprint.pc.in ${PROJECT_BINARY_DIR}/footprint.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/footprint.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
