/* SPDX-License-Identifier: BSD-2-Clause */
/* CSR numbers and access, for the parts of the TSM that run TVMs. */
#ifndef TSM_CSR_H
#define TSM_CSR_H

#define CSR_SSTATUS	0x100
#define CSR_SIE		0x104
#define CSR_SCOUNTEREN	0x106
#define CSR_SENVCFG	0x10A
#define CSR_SEPC	0x141
#define CSR_SCAUSE	0x142
#define CSR_STVAL	0x143
#define CSR_VSSTATUS	0x200
#define CSR_VSIE	0x204
#define CSR_VSTVEC	0x205
#define CSR_VSSCRATCH	0x240
#define CSR_VSEPC	0x241
#define CSR_VSCAUSE	0x242
#define CSR_VSTVAL	0x243
#define CSR_VSATP	0x280
#define CSR_HSTATUS	0x600
#define CSR_HEDELEG	0x602
#define CSR_HIDELEG	0x603
#define CSR_HIE		0x604
#define CSR_HTIMEDELTA	0x605
#define CSR_HCOUNTEREN	0x606
#define CSR_HENVCFG	0x60a
#define CSR_HTVAL	0x643
#define CSR_HVIP	0x645
#define CSR_HTINST	0x64A
#define CSR_HGATP	0x680
#define CSR_VSTIMECMP	0x24D

#define SSTATUS_SIE	(1UL << 1)
#define SSTATUS_SPIE	(1UL << 5)
#define SSTATUS_SPP	(1UL << 8)

#define HSTATUS_GVA	(1UL << 6)
#define HSTATUS_SPV	(1UL << 7)
#define HSTATUS_SPVP	(1UL << 8)
#define HSTATUS_HU	(1UL << 9)
#define HSTATUS_VGEIN	(0x3fUL << 12)
#define HSTATUS_VTVM	(1UL << 20)
#define HSTATUS_VTW	(1UL << 21)
#define HSTATUS_VTSR	(1UL << 22)

#define IRQ_S_SOFT	1
#define IRQ_VS_SOFT	2
#define IRQ_S_TIMER	5
#define IRQ_VS_TIMER	6
#define IRQ_S_EXT	9
#define IRQ_VS_EXT	10

#define HGATP_MODE_SV48X4	(9UL << 60)
#define HGATP_VMID_SHIFT	44

#define __csr_str(x)	#x
#define csr_str(x)	__csr_str(x)

#define csr_read(csr) ({						\
	unsigned long __v;						\
	asm volatile("csrr %0, " csr_str(csr) : "=r"(__v) : : "memory"); \
	__v;								\
})

#define csr_write(csr, val) ({						\
	unsigned long __v = (unsigned long)(val);			\
	asm volatile("csrw " csr_str(csr) ", %0" : : "r"(__v) : "memory"); \
})

#endif
