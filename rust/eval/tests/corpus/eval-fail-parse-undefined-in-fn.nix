y: z
