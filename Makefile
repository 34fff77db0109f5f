# The front door. `make demo` and `make test` do all the set-up themselves on Debian 12.
.PHONY: all bootstrap debug release demo test bench format clean package

JOBS ?= $(shell nproc)
DEBUG_DIR := build/debug
RELEASE_DIR := build/release

all: release

bootstrap:
	@bash scripts/bootstrap.sh

$(DEBUG_DIR)/build.ninja: | bootstrap
	cmake -S . -B $(DEBUG_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="-O0 -g"

$(RELEASE_DIR)/build.ninja: | bootstrap
	cmake -S . -B $(RELEASE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"

debug: bootstrap $(DEBUG_DIR)/build.ninja
	cmake --build $(DEBUG_DIR) -j $(JOBS)

release: bootstrap $(RELEASE_DIR)/build.ninja
	cmake --build $(RELEASE_DIR) -j $(JOBS)

demo: release
	$(RELEASE_DIR)/src/cli/parley demo --home build/demo-home --fresh

test: debug
	cd $(DEBUG_DIR) && ctest --output-on-failure -j $(JOBS)

# A Debian package of `parley` in build/release (parley_VERSION_ARCH.deb).
package: release
	cd $(RELEASE_DIR) && cpack -G DEB

bench: release
	bash bench/run.sh $(RELEASE_DIR)

format:
	find src tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build
