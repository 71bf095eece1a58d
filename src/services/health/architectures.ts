/** The architecture catalog (replaces upstream's /fog-types). Ids are part of the wire contract. */
export const ARCHITECTURES = [
  { id: 0, name: 'auto', image: '', description: 'Detected from the agent at provisioning time' },
  { id: 1, name: 'amd64', image: '', description: 'x86-64 (Intel / AMD 64-bit)' },
  { id: 2, name: 'arm64', image: '', description: 'ARMv8 64-bit (aarch64)' },
  { id: 3, name: 'riscv64', image: '', description: 'RISC-V 64-bit' },
  { id: 4, name: 'arm', image: '', description: 'ARMv7 32-bit (armhf)' },
] as const;
