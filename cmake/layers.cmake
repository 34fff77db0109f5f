# A target can include only what it links (DESIGN.md §6, docs/architecture.md).
#
# Every folder of src/ is a layer, and its headers are reachable only through the include
# directory of its own library: ${CMAKE_BINARY_DIR}/layers/<folder>/ holds one symbolic link,
# <folder> -> src/<folder>, so `#include "<folder>/x.h"` resolves only for targets that link that
# folder's library (PUBLIC links pass it on, PRIVATE links do not). An include of a layer a target
# does not link fails to compile. Which layer may use which is the table in src/layers.txt,
# checked by parley_layering_test; the links below follow it.
function(parley_layer target folder)
  set(root "${CMAKE_BINARY_DIR}/layers/${folder}")
  if(NOT EXISTS "${root}/${folder}")
    file(MAKE_DIRECTORY "${root}")
    file(CREATE_LINK "${CMAKE_SOURCE_DIR}/src/${folder}" "${root}/${folder}" SYMBOLIC)
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE "${root}")
  else()
    target_include_directories(${target} PUBLIC "${root}")
  endif()
endfunction()
