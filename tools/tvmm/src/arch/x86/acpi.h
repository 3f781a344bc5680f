// SPDX-License-Identifier: GPL-2.0
// ACPI tables for an x86-64 tvmm VM (ACPI 6.5, hardware-reduced): RSDP,
// XSDT, FADT, MADT (CPUs, IOAPIC) and a DSDT that describes COM1 and each
// virtio-mmio device (_HID "LNRO0005", as Linux's virtio_mmio driver
// matches).  Linux learns about the devices from here, so no kernel needs
// CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES.  Pure functions over GuestMemory.
#ifndef TVMM_ARCH_X86_ACPI_H_
#define TVMM_ARCH_X86_ACPI_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "arch/machine.h"
#include "memory/guest_memory.h"

namespace tvmm::x86 {

// The DSDT: \_SB.COM1 and \_SB.Vnnn for each of @virtio.
std::vector<uint8_t> BuildDsdt(absl::Span<const VirtioSlot> virtio);

// The MADT: @ncpus local APICs (IDs 0..n-1), the IOAPIC (ID @ncpus, GSI 0),
// LINT1 of every CPU as NMI.
absl::StatusOr<std::vector<uint8_t>> BuildMadt(uint32_t ncpus);

// Writes all tables from kAcpiAddr on and returns the RSDP's address.
absl::StatusOr<uint64_t> WriteAcpiTables(const GuestMemory& mem, uint32_t ncpus,
                                         absl::Span<const VirtioSlot> virtio);

}  // namespace tvmm::x86

#endif  // TVMM_ARCH_X86_ACPI_H_
