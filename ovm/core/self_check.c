/*
 * OVM's own integrity, as it can check it itself: a hash of its code and
 * read-only data, of the shim and of every VM's translation tables, taken at
 * boot (and for a VM's tables when `register` builds them) and compared on
 * request, one chunk per hypercall so that no call holds the core for long.
 * A guest that could write any of these would show here, whatever it says.
 */
#include <arch/arch.h>
#include <core/hypercall.h>
#include <core/vm.h>

/* Bytes hashed by one HC_SELF_CHECK: a few thousand instructions. */
#define CHUNK_SIZE 2048u
#define MAX_CHUNKS 256u

struct chunk {
	u32 base;
	u32 size;
	u32 hash;
	/* Which arch_integrity_part it belongs to. */
	u32 part;
};

static struct chunk chunks[MAX_CHUNKS];
static u32 chunk_count;

/* FNV-1a over words: cheap, and any changed word changes it. */
static u32 hash(u32 base, u32 size)
{
	const volatile u32 *word = (const volatile u32 *)(uintptr_t)base;
	u32 h = 2166136261u;

	for (u32 i = 0; i < size / 4; i++)
		h = (h ^ word[i]) * 16777619u;
	return h;
}

void self_check_record(void)
{
	u32 base, size;

	chunk_count = 0;
	for (u32 part = 0; arch_integrity_part(part, &base, &size); part++)
		for (u32 off = 0; off < size && chunk_count < MAX_CHUNKS; off += CHUNK_SIZE) {
			u32 len = size - off < CHUNK_SIZE ? size - off : CHUNK_SIZE;
			chunks[chunk_count++] = (struct chunk){ base + off, len, hash(base + off, len), part };
		}
}

/* Parts 2 + 2 vm and 3 + 2 vm are the VM's tables (arch_integrity_part). */
void self_check_record_vm(u32 vm)
{
	for (u32 i = 0; i < chunk_count; i++)
		if (chunks[i].part / 2 == vm + 1)
			chunks[i].hash = hash(chunks[i].base, chunks[i].size);
}

s32 self_check(u32 chunk, u32 *intact, u32 *count)
{
	vms_hold(true);
	s32 status = OVM_E_INVAL;
	if (chunk < chunk_count) {
		*intact = hash(chunks[chunk].base, chunks[chunk].size) == chunks[chunk].hash;
		*count = chunk_count;
		status = OVM_OK;
	}
	vms_hold(false);
	return status;
}
