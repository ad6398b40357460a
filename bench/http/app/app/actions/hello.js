export const hello = defineAction(() => ({ message: "hello" }));
