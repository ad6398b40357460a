// Text assets the bundler inlines as strings (`import page from "./page.md"`). A script (no
// import/export), so the wildcard declaration is global.
declare module "*.md" {
  const text: string;
  export default text;
}
